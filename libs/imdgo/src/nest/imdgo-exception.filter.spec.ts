import type { ArgumentsHost } from '@nestjs/common';
import type { HttpAdapterHost } from '@nestjs/core';
import { describe, expect, it } from 'vitest';
import * as api from '../index.ts';
import {
  BusyError,
  CompactedError,
  ImdgoError,
  InvalidArgumentError,
  InvalidKeyError,
  NoLeaderError,
  RequestTimeoutError,
  StoppedError,
  StoreFullError,
  ValueTooLargeError,
} from '../errors.ts';
import { ImdgoOptionsError } from './imdgo-options.ts';
import { IMDGO_HTTP_STATUS, ImdgoExceptionFilter } from './imdgo-exception.filter.ts';

/** Every ImdgoError subclass the package exports, with the code it carries (constant per class). */
function exportedErrorCodes(): Map<string, string> {
  const codes = new Map<string, string>();
  for (const [name, value] of Object.entries(api)) {
    if (typeof value !== 'function' || !(value.prototype instanceof ImdgoError)) continue;
    const error = Reflect.construct(value, ['x', 1]) as ImdgoError;
    codes.set(error.code, name);
  }
  return codes;
}

interface Sent {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

/** Runs the filter with Nest's adapter (as APP_FILTER injects it); returns what it answered. */
function answer(error: ImdgoError): Sent {
  const sent: Sent = { status: 0, body: undefined, headers: {} };
  const adapter = {
    setHeader: (_response: unknown, name: string, value: string) => (sent.headers[name] = value),
    reply: (_response: unknown, body: unknown, status: number) => Object.assign(sent, { body, status }),
  };
  new ImdgoExceptionFilter({ httpAdapter: adapter } as unknown as HttpAdapterHost).catch(error, hostOf({}));
  return sent;
}

function hostOf(response: unknown): ArgumentsHost {
  return { switchToHttp: () => ({ getResponse: () => response }) } as unknown as ArgumentsHost;
}

describe('ImdgoExceptionFilter', () => {
  it('maps the code of every exported error class, and nothing else', () => {
    const codes = exportedErrorCodes();
    expect(codes.size).toBeGreaterThanOrEqual(11);
    const unmapped = [...codes].filter(([code]) => !(code in IMDGO_HTTP_STATUS));
    expect(unmapped, 'error classes whose code has no HTTP status').toEqual([]);
    expect(Object.keys(IMDGO_HTTP_STATUS).filter((code) => !codes.has(code))).toEqual([]);
  });

  it.each([
    [new InvalidKeyError('the key is empty'), 400],
    [new InvalidArgumentError('limit must be a positive integer'), 400],
    [new ValueTooLargeError(2_000_000, 1_048_576), 413],
    [new CompactedError(3, 40), 410],
    [new StoreFullError(1024), 507],
    [new ImdgoOptionsError('invalid imdgo options'), 500],
  ])('answers %s with %i and its code, without Retry-After', (error, status) => {
    const sent = answer(error);
    expect(sent.status).toBe(status);
    expect(sent.body).toMatchObject({ statusCode: status, code: error.code, message: error.message });
    expect(sent.headers).toEqual({});
  });

  it.each([
    new BusyError(10_000),
    new NoLeaderError(5000),
    new RequestTimeoutError('write', 5000),
    new StoppedError(),
  ])('answers %s with 503 and Retry-After', (error) => {
    const sent = answer(error);
    expect(sent.status).toBe(503);
    expect(sent.headers).toEqual({ 'Retry-After': '1' });
    expect(sent.body).toMatchObject({ code: error.code });
  });

  it('tells where a compacted watch can resume, and answers 500 for a code it does not know', () => {
    expect(answer(new CompactedError(3, 40)).body).toMatchObject({ oldestRevision: 40 });
    expect(answer(new ImdgoError('SOMETHING_NEW', 'surprise')).status).toBe(500);
  });

  it('without an adapter, answers through a Fastify reply', () => {
    const sent: Sent = { status: 0, body: undefined, headers: {} };
    const reply = {
      header: (name: string, value: string) => (sent.headers[name] = value),
      code: (status: number) => ({ send: (body: unknown) => Object.assign(sent, { status, body }) }),
      send: () => undefined,
    };
    new ImdgoExceptionFilter().catch(new BusyError(3), hostOf(reply));
    expect(sent).toMatchObject({ status: 503, headers: { 'Retry-After': '1' }, body: { code: 'BUSY' } });
  });

  it('without an adapter, names the fix for a platform it does not know', () => {
    expect(() => new ImdgoExceptionFilter().catch(new BusyError(3), hostOf({}))).toThrow(
      'new ImdgoExceptionFilter(app.get(HttpAdapterHost))',
    );
  });
});
