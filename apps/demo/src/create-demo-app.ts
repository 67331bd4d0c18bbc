import type { LoggerService, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
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
const BODY_LIMIT_BYTES = 8 * 1024 * 1024;

/**
 * Fastify's router answers 404 for a path parameter longer than 100 characters; the URL is capped anyway by
 * Node's 16 KiB header limit. A long key must reach the store, which refuses it with 400 INVALID_KEY.
 */
const MAX_PARAM_LENGTH = 16 * 1024;

/** A demo node ready to listen: the API, the dashboard at `/` and the OpenAPI docs at `/docs`. */
export async function createDemoApp(
  config: DemoConfig,
  logger?: LoggerService | LogLevel[] | false,
): Promise<NestFastifyApplication> {
  // Open SSE streams would otherwise hold app.close() until every browser tab goes away.
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config),
    new FastifyAdapter({ bodyLimit: BODY_LIMIT_BYTES, routerOptions: { maxParamLength: MAX_PARAM_LENGTH } }),
    // bodyParser: false leaves JSON bodies to Fastify's own parser (the same secure-json-parse, limits and
    // 400s) instead of Nest's wrapper around it, a few closures less per request; the API takes no forms.
    { forceCloseConnections: true, bodyParser: false, ...(logger !== undefined && { logger }) },
  );
  app.useStaticAssets({ root: PUBLIC_DIR });
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
