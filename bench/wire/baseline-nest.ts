/**
 * Nest's layer alone, for paired-ab.ts: a Nest app on the Fastify adapter (Fastify's JSON parser, as the
 * demo) whose controller answers `PUT`/`GET /kv/:key` from a Map with the demo's response shapes. Written
 * with Reflect.decorate, as Node runs TypeScript without decorator syntax. Uses only `--http-port`.
 */
import 'reflect-metadata';
import { Body, Controller, Get, Module, NotFoundException, Param, Put } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { baselinePort, BaselineKv } from './baseline-kv.ts';

const kv = new BaselineKv();

class KvController {
  async get(key: string): Promise<object> {
    const entry = kv.get(key);
    if (entry === undefined) throw new NotFoundException(`key "${key}" not found`);
    return entry;
  }

  async put(key: string, body: { value: unknown }): Promise<object> {
    return kv.put(key, body.value);
  }
}

function route(method: MethodDecorator, params: ParameterDecorator[], name: 'get' | 'put'): void {
  const target = KvController.prototype;
  params.forEach((param, index) => param(target, name, index));
  Reflect.decorate([method], target, name, Object.getOwnPropertyDescriptor(target, name));
}
route(Get(':key'), [Param('key')], 'get');
route(Put(':key'), [Param('key'), Body()], 'put');
Reflect.decorate([Controller('kv')], KvController);

// oxlint-disable-next-line typescript/no-extraneous-class -- Nest's module, decorated below without the syntax
class BaselineModule {}
Reflect.decorate([Module({ controllers: [KvController] })], BaselineModule);

const app = await NestFactory.create<NestFastifyApplication>(BaselineModule, new FastifyAdapter(), {
  logger: false,
  bodyParser: false,
});
await app.listen(baselinePort(), '127.0.0.1');
