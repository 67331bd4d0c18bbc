import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsNumber, IsOptional } from 'class-validator';

export class IncrementDto {
  @ApiPropertyOptional({ description: 'Added to the number (absent counts as 0)', default: 1, example: 5 })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  delta?: number;
}
