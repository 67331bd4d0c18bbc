import { ConsoleLogger, type LoggerService } from '@nestjs/common';

const silent: LoggerService = { log() {}, warn() {}, error() {}, debug() {}, verbose() {} };

/**
 * Nest logs every election and each deliberately failing handler; tests stay quiet unless
 * IMDGO_TEST_LOGS=1. Passed to TestingModuleBuilder#setLogger, which otherwise installs its own.
 */
export function testLogger(): LoggerService {
  return process.env.IMDGO_TEST_LOGS ? new ConsoleLogger('imdgo-test') : silent;
}
