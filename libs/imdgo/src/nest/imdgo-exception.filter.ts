import {
  Catch,
  HttpStatus,
  Inject,
  Optional,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { CompactedError, ImdgoError } from '../errors.ts';

/**
 * The HTTP status of every `ImdgoError` code (the README has the table and the reasons). Conditional
 * writes (`putIfAbsent`, `compareAndSet`, `setIfVersion`) do not throw on a conflict: they answer
 * `applied: false`; only `update` throws one (CONFLICT, 409) once its retries run out.
 */
export const IMDGO_HTTP_STATUS: Readonly<Record<string, HttpStatus>> = {
  INVALID_KEY: HttpStatus.BAD_REQUEST,
  INVALID_ARGUMENT: HttpStatus.BAD_REQUEST,
  VALUE_TOO_LARGE: HttpStatus.PAYLOAD_TOO_LARGE,
  COMPACTED: HttpStatus.GONE,
  NO_SPACE: HttpStatus.INSUFFICIENT_STORAGE,
  BUSY: HttpStatus.SERVICE_UNAVAILABLE,
  NO_LEADER: HttpStatus.SERVICE_UNAVAILABLE,
  TIMEOUT: HttpStatus.SERVICE_UNAVAILABLE,
  STOPPED: HttpStatus.SERVICE_UNAVAILABLE,
  NOT_READY: HttpStatus.SERVICE_UNAVAILABLE,
  CONFLICT: HttpStatus.CONFLICT,
  // The lock the request relied on was released when this node's lock session expired.
  LOCK_SESSION_ENDED: HttpStatus.CONFLICT,
  // Startup errors: the server is misconfigured, the client did nothing wrong.
  INVALID_OPTIONS: HttpStatus.INTERNAL_SERVER_ERROR,
  PEER_LISTEN_FAILED: HttpStatus.INTERNAL_SERVER_ERROR,
};

/** An election takes one to two seconds with the default timing: one is a fair first wait. */
const RETRY_AFTER_SECONDS = '1';

/** What a filter needs of the HTTP platform: Nest's HttpAdapter has both methods. */
interface Replier {
  setHeader(response: unknown, name: string, value: string): unknown;
  reply(response: unknown, body: unknown, status: number): unknown;
}

/**
 * Answers imdgo's errors with the HTTP status they mean (`IMDGO_HTTP_STATUS`; 500 for a code it does not
 * know), keeping their stable `code`; 503 comes with `Retry-After`. Register it with
 * `{ provide: APP_FILTER, useClass: ImdgoExceptionFilter }` or `app.useGlobalFilters(new ImdgoExceptionFilter())`.
 */
@Catch(ImdgoError)
export class ImdgoExceptionFilter implements ExceptionFilter<ImdgoError> {
  private readonly adapterHost: HttpAdapterHost | undefined;

  /** Injected under APP_FILTER; `new ImdgoExceptionFilter()` answers through the Express or Fastify response. */
  constructor(@Optional() @Inject(HttpAdapterHost) adapterHost?: HttpAdapterHost) {
    this.adapterHost = adapterHost;
  }

  catch(error: ImdgoError, host: ArgumentsHost): void {
    const response: unknown = host.switchToHttp().getResponse();
    const replier = this.adapterHost?.httpAdapter ?? platformReplier(response);
    const status = IMDGO_HTTP_STATUS[error.code] ?? HttpStatus.INTERNAL_SERVER_ERROR;
    if (status === HttpStatus.SERVICE_UNAVAILABLE)
      replier.setHeader(response, 'Retry-After', RETRY_AFTER_SECONDS);
    const body = {
      statusCode: status,
      code: error.code,
      message: error.message,
      ...(error instanceof CompactedError && { oldestRevision: error.oldestRevision }),
    };
    replier.reply(response, body, status);
  }
}

type Callable = (...args: unknown[]) => unknown;

/** Without the adapter (`new ImdgoExceptionFilter()`), the response object itself: Express or Fastify. */
function platformReplier(response: unknown): Replier {
  const methods = response as Record<string, Callable | undefined>;
  if (typeof methods['status'] === 'function' && typeof methods['json'] === 'function') {
    const res = response as { setHeader: Callable; status(code: number): { json: Callable } };
    return { setHeader: (_r, n, v) => res.setHeader(n, v), reply: (_r, b, s) => res.status(s).json(b) };
  }
  if (typeof methods['code'] === 'function' && typeof methods['send'] === 'function') {
    const reply = response as { header: Callable; code(code: number): { send: Callable } };
    return { setHeader: (_r, n, v) => reply.header(n, v), reply: (_r, b, s) => reply.code(s).send(b) };
  }
  throw new TypeError(
    'ImdgoExceptionFilter: unknown HTTP platform; pass the adapter: new ImdgoExceptionFilter(app.get(HttpAdapterHost))',
  );
}
