import { BadRequestException } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { ReadQueryPipe } from './read-query.pipe.ts';

function problems(query: Record<string, unknown>): unknown {
  try {
    new ReadQueryPipe().transform(query);
    return null;
  } catch (error) {
    expect(error).toBeInstanceOf(BadRequestException);
    return (error as BadRequestException).getResponse();
  }
}

describe('ReadQueryPipe', () => {
  it('accepts no query or one of the three consistency levels', () => {
    expect(new ReadQueryPipe().transform({})).toEqual({});
    for (const consistency of ['linearizable', 'leader', 'local']) {
      expect(new ReadQueryPipe().transform({ consistency })).toEqual({ consistency });
    }
  });

  it('answers 400 naming an unknown level, a repeated parameter and any other parameter', () => {
    const oneOf = 'consistency must be one of the following values: linearizable, leader, local';
    expect(problems({ consistency: 'eventual' })).toMatchObject({ statusCode: 400, message: [oneOf] });
    expect(problems({ consistency: ['local', 'leader'] })).toMatchObject({ message: [oneOf] });
    expect(problems({ limit: '5' })).toMatchObject({ message: ['property limit should not exist'] });
  });
});
