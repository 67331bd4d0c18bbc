import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import type { Consistency } from 'imdgo';

export const CONSISTENCIES: readonly Consistency[] = ['linearizable', 'leader', 'local'];

/** The docs of the consistency query parameter, here and on `GET /kv/:key` (checked by ReadQueryPipe). */
export const CONSISTENCY_PROPERTY = {
  enum: CONSISTENCIES,
  default: 'linearizable',
  description: 'linearizable: sees every acknowledged write; leader: no quorum round; local: this node now',
};

export class ReadQueryDto {
  @ApiPropertyOptional(CONSISTENCY_PROPERTY)
  @IsOptional()
  @IsIn(CONSISTENCIES)
  consistency?: Consistency;
}
