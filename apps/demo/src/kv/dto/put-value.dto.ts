import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsDefined, IsInt, IsOptional, Min } from 'class-validator';
import { ANY_JSON } from './any-json.schema.ts';

export class PutValueDto {
  @ApiProperty({ ...ANY_JSON, description: 'Any JSON value but null', example: { name: 'Ada' } })
  @IsDefined({ message: 'value is required: any JSON value but null' })
  value!: unknown;

  @ApiPropertyOptional({ description: 'Time to live in milliseconds', minimum: 1, example: 60_000 })
  @IsOptional()
  @IsInt()
  @Min(1)
  ttl?: number;
}
