import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ANY_JSON } from './any-json.schema.ts';

/**
 * The body of `PUT /kv/:key`, for the OpenAPI docs; PutValuePipe checks it by hand (the hottest route: no
 * class-validator run per request).
 */
export class PutValueDto {
  @ApiProperty({ ...ANY_JSON, description: 'Any JSON value but null', example: { name: 'Ada' } })
  value!: unknown;

  @ApiPropertyOptional({ description: 'Time to live in milliseconds', minimum: 1, example: 60_000 })
  ttl?: number;
}

/** A checked PutValueDto; a plain type, so that the global ValidationPipe passes it by. */
export type PutValue = Pick<PutValueDto, 'value' | 'ttl'>;
