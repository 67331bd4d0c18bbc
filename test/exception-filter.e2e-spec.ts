import 'reflect-metadata';
import { Body, Controller, Inject, Module, Param, Put, type INestApplication } from '@nestjs/common';
import { APP_FILTER, NestFactory } from '@nestjs/core';
import { ImdgoExceptionFilter, ImdgoModule, ImdgoStore, type ImdgoModuleOptions } from 'imdgo';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../libs/imdgo/testing/free-port.ts';
import { TEST_TIMING } from './support/cluster.ts';
import { testLogger } from './support/quiet-logs.ts';

@Controller('kv')
class KvController {
  private readonly store: ImdgoStore;

  constructor(@Inject(ImdgoStore) store: ImdgoStore) {
    this.store = store;
  }

  @Put(':key')
  async put(@Param('key') key: string, @Body() body: { value: unknown }): Promise<unknown> {
    return this.store.set(key, body.value);
  }
}

let app: INestApplication | null = null;

afterEach(async () => {
  await app?.close();
  app = null;
});

/** One node behind an Express app on a free port, with the filter registered one way or the other. */
async function startApp(
  options: Partial<ImdgoModuleOptions>,
  registration: 'useGlobalFilters' | 'APP_FILTER',
): Promise<(key: string, value: unknown) => Promise<Response>> {
  const members = options.members ?? [`127.0.0.1:${await freePort()}`];
  @Module({
    imports: [ImdgoModule.forRoot({ ...TEST_TIMING, ...options, members, nodeId: members[0] })],
    controllers: [KvController],
    providers: registration === 'APP_FILTER' ? [{ provide: APP_FILTER, useClass: ImdgoExceptionFilter }] : [],
  })
  class AppModule {}
  app = await NestFactory.create(AppModule, { logger: testLogger() });
  if (registration === 'useGlobalFilters') app.useGlobalFilters(new ImdgoExceptionFilter());
  await app.listen(0, '127.0.0.1');
  const url = await app.getUrl();
  return (key, value) =>
    fetch(`${url}/kv/${key}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ value }),
    });
}

describe('ImdgoExceptionFilter over HTTP', () => {
  it.each(['useGlobalFilters', 'APP_FILTER'] as const)(
    'registered with %s, answers 413 for a value too large and 507 when the store is full',
    async (registration) => {
      // The cap of one group (with partitions each partition's group has its own: see Limits).
      const put = await startApp({ partitions: 1, maxValueBytes: 200, maxStoreBytes: 400 }, registration);
      expect((await put('small', 'ok')).status).toBe(200);

      const tooLarge = await put('big', 'x'.repeat(500));
      expect(tooLarge.status).toBe(413);
      expect(await tooLarge.json()).toMatchObject({ statusCode: 413, code: 'VALUE_TOO_LARGE' });

      let full: Response | undefined;
      for (let i = 0; i < 10 && full === undefined; i++) {
        const response = await put(`fill-${i}`, 'y'.repeat(150));
        if (response.status !== 200) full = response;
      }
      expect(full?.status).toBe(507);
      expect(await full?.json()).toMatchObject({ statusCode: 507, code: 'NO_SPACE' });
    },
  );

  it('answers 503 with Retry-After when no majority is reachable', async () => {
    const members = await Promise.all([freePort(), freePort(), freePort()]);
    const put = await startApp(
      { members: members.map((port) => `127.0.0.1:${port}`), requestTimeoutMs: 300 },
      'APP_FILTER',
    );
    const response = await put('k', 'v');
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('1');
    expect(['NO_LEADER', 'TIMEOUT']).toContain(((await response.json()) as { code: string }).code);
  });
});
