import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, Min } from 'class-validator';
import { ReadQueryDto } from './read-query.dto.ts';

export const MAX_PAGE = 1000;

export class ListQueryDto extends ReadQueryDto {
  @ApiPropertyOptional({ description: 'Only keys starting with this', example: 'user:' })
  @IsOptional()
  @IsString()
  prefix?: string;

  @ApiPropertyOptional({ description: 'Keys per page', minimum: 1, maximum: MAX_PAGE, default: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE)
  limit?: number;

  @ApiPropertyOptional({ description: 'The cursor of the previous page: only keys after it' })
  @IsOptional()
  @IsString()
  after?: string;
}
