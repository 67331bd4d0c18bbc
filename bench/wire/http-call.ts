import { Agent, request } from 'node:http';
import { undiciCall } from './undici-call.ts';

/** An HTTP exchange as the load generator needs it: the status and the body as text. */
export interface HttpAnswer {
  readonly status: number;
  readonly text: string;
}

/** One request, `body` (JSON) sent with its content type when given. */
export type HttpCall = (method: string, url: string, body?: string) => Promise<HttpAnswer>;

/**
 * The load generator's HTTP clients, all with keep-alive connections pooled per origin. On a 2-core machine
 * the generator's CPU is taken from the servers it measures, so the default is the cheapest per request:
 * `undici` (its Pool, undici-call.ts); `http` (node:http with an Agent) and `fetch` (Node's, about three
 * times node:http's CPU) are there to check that the comparison holds with another client.
 */
export const WIRE_CLIENTS = ['undici', 'http', 'fetch'] as const;
export type WireClient = (typeof WIRE_CLIENTS)[number];

const agent = new Agent({ keepAlive: true });

const nodeHttpCall: HttpCall = (method, url, body) =>
  new Promise((resolve, reject) => {
    const headers =
      body === undefined
        ? undefined
        : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
    const outgoing = request(url, { method, agent, headers }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
      response.on('error', reject);
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });

const fetchCall: HttpCall = async (method, url, body) => {
  const response = await fetch(url, {
    method,
    ...(body !== undefined && { headers: { 'content-type': 'application/json' }, body }),
  });
  return { status: response.status, text: await response.text() };
};

export function httpCall(client: WireClient): HttpCall {
  switch (client) {
    case 'undici':
      return undiciCall();
    case 'http':
      return nodeHttpCall;
    case 'fetch':
      return fetchCall;
  }
}
