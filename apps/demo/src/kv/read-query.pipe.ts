import { BadRequestException, Injectable, type PipeTransform } from '@nestjs/common';
import type { Consistency } from 'imdgo';
import { CONSISTENCIES } from './dto/read-query.dto.ts';

export interface ReadQuery {
  readonly consistency?: Consistency;
}

const CONSISTENCY_MESSAGE = `consistency must be one of the following values: ${CONSISTENCIES.join(', ')}`;

/**
 * Checks the query of `GET /kv/:key` as ReadQueryDto's decorators do (same 400 messages), without a
 * class-validator run per read.
 */
@Injectable()
export class ReadQueryPipe implements PipeTransform<Record<string, unknown>, ReadQuery> {
  transform(query: Record<string, unknown>): ReadQuery {
    const problems: string[] = [];
    for (const name in query) {
      if (name !== 'consistency') problems.push(`property ${name} should not exist`);
    }
    const { consistency } = query;
    if (consistency !== undefined && !CONSISTENCIES.includes(consistency as Consistency)) {
      problems.push(CONSISTENCY_MESSAGE);
    }
    if (problems.length > 0) throw new BadRequestException(problems);
    return query as ReadQuery;
  }
}
