/**
 * The floor under the demo's REST API for paired-ab.ts: bare Fastify answering `PUT`/`GET /kv/:key` from a
 * Map, with the demo's response shapes. Takes the demo's arguments and uses only `--http-port`.
 */
import Fastify from 'fastify';
import { baselinePort, BaselineKv } from './baseline-kv.ts';

const kv = new BaselineKv();
const app = Fastify();
app.put<{ Params: { key: string }; Body: { value: unknown } }>('/kv/:key', (request, reply) => {
  reply.send(kv.put(request.params.key, request.body.value));
});
app.get<{ Params: { key: string } }>('/kv/:key', (request, reply) => {
  const entry = kv.get(request.params.key);
  if (entry === undefined) reply.code(404).send({ statusCode: 404, message: 'not found' });
  else reply.send(entry);
});
await app.listen({ port: baselinePort(), host: '127.0.0.1' });
