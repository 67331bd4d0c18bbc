import { BadRequestException, Injectable, type PipeTransform } from '@nestjs/common';
import type { PutValue } from './dto/put-value.dto.ts';

/**
 * Checks the body of `PUT /kv/:key` with the rules and messages the ValidationPipe gives the other DTOs
 * (400, `message` lists every problem), at a fraction of class-transformer + class-validator's cost.
 */
@Injectable()
export class PutValuePipe implements PipeTransform<unknown, PutValue> {
  transform(body: unknown): PutValue {
    const fields = isPlainObject(body) ? body : {};
    const problems: string[] = [];
    for (const name in fields) {
      if (name !== 'value' && name !== 'ttl') problems.push(`property ${name} should not exist`);
    }
    const { value, ttl } = fields;
    if (value === undefined || value === null) problems.push('value is required: any JSON value but null');
    // Like @IsOptional(): null is absent, and the store says what it thinks of a null ttl.
    if (ttl !== undefined && ttl !== null) {
      if (typeof ttl !== 'number' || !(ttl >= 1)) problems.push('ttl must not be less than 1');
      if (!Number.isInteger(ttl)) problems.push('ttl must be an integer number');
    }
    if (problems.length > 0) throw new BadRequestException(problems);
    return fields as PutValue;
  }
}

function isPlainObject(body: unknown): body is Record<string, unknown> {
  return typeof body === 'object' && body !== null && !Array.isArray(body);
}
