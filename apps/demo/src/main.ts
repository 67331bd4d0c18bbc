import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.ts';

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create(AppModule);
  app.enableShutdownHooks();
  const port = Number(process.env.HTTP_PORT ?? 3000);
  await app.listen(port, '127.0.0.1');
  console.log(`imdgo demo listening on http://127.0.0.1:${port}`);
}

await bootstrap();
