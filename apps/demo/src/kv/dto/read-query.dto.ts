import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import type { Consistency } from 'imdgo';

export const CONSISTENCIES: readonly Consistency[] = ['linearizable', 'leader', 'local'];

export class ReadQueryDto {
  @ApiPropertyOptional({
    enum: CONSISTENCIES,
    default: 'linearizable',
    description: 'linearizable: sees every acknowledged write; leader: no quorum round; local: this node now',
  })
  @IsOptional()
  @IsIn(CONSISTENCIES)
  consistency?: Consistency;
}
