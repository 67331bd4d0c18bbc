import { BadRequestException } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { PutValuePipe } from './put-value.pipe.ts';

/** The 400 messages the pipe throws for `body`, or null when it accepts it. */
function problems(body: unknown): string[] | null {
  try {
    new PutValuePipe().transform(body);
    return null;
  } catch (error) {
    expect(error).toBeInstanceOf(BadRequestException);
    return (error as BadRequestException).getResponse() as never;
  }
}

describe('PutValuePipe', () => {
  it('accepts any JSON value but null, with an optional integer ttl', () => {
    for (const value of ['text', 0, false, { name: 'Ada' }, [1, 2]]) {
      expect(new PutValuePipe().transform({ value })).toEqual({ value });
    }
    expect(new PutValuePipe().transform({ value: 1, ttl: 60_000 })).toEqual({ value: 1, ttl: 60_000 });
  });

  it('answers as the ValidationPipe did: 400 with every problem named', () => {
    expect(problems({ value: 1, extra: true, other: 2 })).toMatchObject({
      statusCode: 400,
      error: 'Bad Request',
      message: ['property extra should not exist', 'property other should not exist'],
    });
    expect(problems({ ttl: 5 })).toMatchObject({ message: ['value is required: any JSON value but null'] });
    expect(problems({ value: null })).toMatchObject({
      message: ['value is required: any JSON value but null'],
    });
    expect(problems({ value: 1, ttl: 0 })).toMatchObject({ message: ['ttl must not be less than 1'] });
    expect(problems({ value: 1, ttl: 1.5 })).toMatchObject({ message: ['ttl must be an integer number'] });
    expect(problems({ value: 1, ttl: '5' })).toMatchObject({
      message: ['ttl must not be less than 1', 'ttl must be an integer number'],
    });
  });

  it('takes a body that is not a JSON object as one without a value', () => {
    for (const body of [undefined, 'text', 5, null, [1]]) {
      expect(problems(body)).toMatchObject({ message: ['value is required: any JSON value but null'] });
    }
  });

  it('leaves a null ttl to the store, as @IsOptional() did', () => {
    expect(new PutValuePipe().transform({ value: 1, ttl: null })).toEqual({ value: 1, ttl: null });
  });
});
