import 'reflect-metadata';
import { Test } from '@nestjs/testing';
import { describe, expect, it } from 'vitest';
import { AppModule } from './app.module.ts';
import { HealthController } from './health.controller.ts';

describe('demo AppModule', () => {
  it('boots and serves health', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    expect(moduleRef.get(HealthController).health()).toEqual({ status: 'ok' });
    await moduleRef.close();
  });
});
