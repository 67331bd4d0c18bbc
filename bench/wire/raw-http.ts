import { connect, type Socket } from 'node:net';
import type { HttpAnswer, HttpCall } from './http-call.ts';

const HEAD_END = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /\r\ncontent-length:[ \t]*(\d+)/i;
const CONNECTION_CLOSE = /\r\nconnection:[ \t]*close/i;

interface Exchange {
  resolve(answer: HttpAnswer): void;
  reject(error: Error): void;
}

/**
 * One keep-alive HTTP/1.1 connection with at most one request in flight. The request goes out as one
 * write; the answer must carry a Content-Length (imdgo's demo and etcd's gateway both send one).
 */
class Connection {
  private readonly socket: Socket;
  private exchange: Exchange | null = null;
  private received: Buffer | null = null;
  private closed = false;

  constructor(host: string, port: number, onIdle: (connection: Connection) => void) {
    this.socket = connect({ host, port, noDelay: true });
    this.socket.on('data', (chunk: Buffer) => {
      const data = this.received === null ? chunk : Buffer.concat([this.received, chunk]);
      let read;
      try {
        read = readAnswer(data);
      } catch (error) {
        this.socket.destroy(error as Error);
        return;
      }
      this.received = read === null ? data : null;
      if (read === null) return;
      const exchange = this.exchange!;
      this.exchange = null;
      if (read.close) this.socket.destroy();
      else onIdle(this);
      exchange.resolve(read.answer);
    });
    const fail = (error: Error) => {
      this.closed = true;
      const exchange = this.exchange;
      this.exchange = null;
      exchange?.reject(error);
    };
    this.socket.on('error', fail);
    this.socket.on('close', () => fail(new Error('HTTP connection closed before the answer')));
  }

  get usable(): boolean {
    return !this.closed;
  }

  send(request: string, exchange: Exchange): void {
    this.exchange = exchange;
    this.socket.write(request);
  }
}

/**
 * The answer at the start of `data` once all of it is there, else null; whether the server closes the
 * connection after it. Throws for an answer without Content-Length.
 */
export function readAnswer(data: Buffer): { answer: HttpAnswer; close: boolean } | null {
  const headEnd = data.indexOf(HEAD_END);
  if (headEnd < 0) return null;
  const head = data.toString('latin1', 0, headEnd);
  const length = CONTENT_LENGTH.exec(head);
  if (length === null) throw new Error(`an HTTP answer without Content-Length: ${head.slice(0, 200)}`);
  const bodyStart = headEnd + HEAD_END.length;
  const bodyEnd = bodyStart + Number(length[1]);
  if (data.length < bodyEnd) return null;
  return {
    answer: { status: Number(head.slice(9, 12)), text: data.toString('utf8', bodyStart, bodyEnd) },
    close: CONNECTION_CLOSE.test(head),
  };
}

/** The connections to one origin (`host:port`): an idle one is reused, else one more is opened. */
class Pool {
  private readonly idle: Connection[] = [];

  private readonly host: string;
  private readonly port: number;

  constructor(host: string, port: number) {
    this.host = host;
    this.port = port;
  }

  send(request: string, exchange: Exchange): void {
    let connection = this.idle.pop();
    while (connection !== undefined && !connection.usable) connection = this.idle.pop();
    connection ??= new Connection(this.host, this.port, (done) => this.idle.push(done));
    connection.send(request, exchange);
  }
}

/**
 * A minimal HTTP/1.1 client for the load generator, as wrk-style tools are: each request written as one
 * string on a pooled keep-alive connection, the answer's head scanned for its status and Content-Length.
 * It spends a fraction of node:http's client CPU per request, which on a 2-core machine goes to the
 * servers being measured. Only `http://host:port/path` URLs.
 */
export function rawHttpCall(): HttpCall {
  const pools = new Map<string, Pool>();
  return (method, url, body) =>
    new Promise((resolve, reject) => {
      const pathStart = url.indexOf('/', 'http://'.length);
      const origin = url.slice('http://'.length, pathStart < 0 ? url.length : pathStart);
      let pool = pools.get(origin);
      if (pool === undefined) {
        const colon = origin.lastIndexOf(':');
        pool = new Pool(origin.slice(0, colon), Number(origin.slice(colon + 1)));
        pools.set(origin, pool);
      }
      const path = pathStart < 0 ? '/' : url.slice(pathStart);
      const request =
        body === undefined
          ? `${method} ${path} HTTP/1.1\r\nHost: ${origin}\r\n\r\n`
          : `${method} ${path} HTTP/1.1\r\nHost: ${origin}\r\nContent-Type: application/json\r\n` +
            `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
      pool.send(request, { resolve, reject });
    });
}
