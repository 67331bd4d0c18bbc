import type { ArgumentsHost } from '@nestjs/common';
import type { HttpAdapterHost } from '@nestjs/core';
import {
  CompactedError,
  ImdgoError,
  InvalidArgumentError,
  InvalidKeyError,
  NoLeaderError,
  RequestTimeoutError,
  StoppedError,
  ValueTooLargeError,
} from 'imdgo';
import { describe, expect, it } from 'vitest';
import { ImdgoExceptionFilter } from './imdgo-exception.filter.ts';

/** Runs the filter against a recording adapter; returns what it answered. */
function answer(error: ImdgoError) {
  const sent = { status: 0, body: undefined as unknown, headers: {} as Record<string, string> };
  const adapter = {
    setHeader: (_response: unknown, name: string, value: string) => (sent.headers[name] = value),
    reply: (_response: unknown, body: unknown, status: number) => Object.assign(sent, { body, status }),
  };
  const host = { switchToHttp: () => ({ getResponse: () => ({}) }) } as unknown as ArgumentsHost;
  new ImdgoExceptionFilter({ httpAdapter: adapter } as unknown as HttpAdapterHost).catch(error, host);
  return sent;
}

describe('ImdgoExceptionFilter', () => {
  it.each([
    [new InvalidKeyError('the key is empty'), 400],
    [new InvalidArgumentError('limit must be a positive integer'), 400],
    [new ValueTooLargeError(2_000_000, 1_048_576), 413],
    [new CompactedError(3, 40), 410],
  ])('answers %s with %i and its code', (error, status) => {
    const sent = answer(error);
    expect(sent.status).toBe(status);
    expect(sent.body).toMatchObject({ statusCode: status, code: error.code, message: error.message });
    expect(sent.headers).toEqual({});
  });

  it.each([new NoLeaderError(5000), new RequestTimeoutError('write', 5000), new StoppedError()])(
    'answers %s with 503 and Retry-After',
    (error) => {
      const sent = answer(error);
      expect(sent.status).toBe(503);
      expect(sent.headers).toEqual({ 'Retry-After': '1' });
      expect(sent.body).toMatchObject({ code: error.code });
    },
  );

  it('tells where a compacted watch can resume, and answers 500 for codes it does not know', () => {
    expect(answer(new CompactedError(3, 40)).body).toMatchObject({ oldestRevision: 40 });
    expect(answer(new ImdgoError('SOMETHING_NEW', 'surprise')).status).toBe(500);
  });
});
