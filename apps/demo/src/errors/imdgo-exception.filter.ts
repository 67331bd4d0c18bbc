import { Catch, HttpStatus, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { CompactedError, ImdgoError } from 'imdgo';

/** HTTP status of each library error code; a code missing here is a bug of the demo, hence 500. */
const STATUS_BY_CODE: Readonly<Record<string, HttpStatus>> = {
  INVALID_KEY: HttpStatus.BAD_REQUEST,
  INVALID_ARGUMENT: HttpStatus.BAD_REQUEST,
  VALUE_TOO_LARGE: HttpStatus.PAYLOAD_TOO_LARGE,
  COMPACTED: HttpStatus.GONE,
  NO_LEADER: HttpStatus.SERVICE_UNAVAILABLE,
  TIMEOUT: HttpStatus.SERVICE_UNAVAILABLE,
  STOPPED: HttpStatus.SERVICE_UNAVAILABLE,
};

/** An election takes one to two seconds with the default timing: one is a fair first wait. */
const RETRY_AFTER_SECONDS = '1';

/** Answers the library's errors with the HTTP status they mean, keeping their stable `code`. */
@Catch(ImdgoError)
export class ImdgoExceptionFilter implements ExceptionFilter<ImdgoError> {
  private readonly adapterHost: HttpAdapterHost;

  constructor(adapterHost: HttpAdapterHost) {
    this.adapterHost = adapterHost;
  }

  catch(error: ImdgoError, host: ArgumentsHost): void {
    const { httpAdapter } = this.adapterHost;
    const response: unknown = host.switchToHttp().getResponse();
    const status = STATUS_BY_CODE[error.code] ?? HttpStatus.INTERNAL_SERVER_ERROR;
    if (status === HttpStatus.SERVICE_UNAVAILABLE)
      httpAdapter.setHeader(response, 'Retry-After', RETRY_AFTER_SECONDS);
    const body = {
      statusCode: status,
      code: error.code,
      message: error.message,
      ...(error instanceof CompactedError && { oldestRevision: error.oldestRevision }),
    };
    httpAdapter.reply(response, body, status);
  }
}
