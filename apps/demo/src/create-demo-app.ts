import type { LoggerService, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { fileURLToPath } from 'node:url';
import { AppModule } from './app.module.ts';
import type { DemoConfig } from './config/demo-config.ts';

/** Next to src/ both in the sources and in dist/ (the build copies it). */
const PUBLIC_DIR = fileURLToPath(new URL('../public', import.meta.url));

/**
 * Well above the library's default maxValueBytes (1 MiB), so that a large value is refused by the store
 * with its own clear message rather than by the body parser.
 */
const BODY_LIMIT = '8mb';

/** A demo node ready to listen: the API, the dashboard at `/` and the OpenAPI docs at `/docs`. */
export async function createDemoApp(
  config: DemoConfig,
  logger?: LoggerService | LogLevel[] | false,
): Promise<NestExpressApplication> {
  // Open SSE streams would otherwise hold app.close() until every browser tab goes away.
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    forceCloseConnections: true,
    ...(logger !== undefined && { logger }),
  });
  app.useBodyParser('json', { limit: BODY_LIMIT });
  app.useStaticAssets(PUBLIC_DIR);
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('imdgo demo')
      .setDescription('A Raft-replicated key-value store: any node answers, writes go through the leader.')
      .setVersion('0.1.0')
      .build(),
  );
  SwaggerModule.setup('docs', app, document);
  return app;
}
