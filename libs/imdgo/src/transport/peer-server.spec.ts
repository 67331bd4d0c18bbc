import { ServerTCP } from '@nestjs/microservices';
import { describe, expect, it, vi } from 'vitest';
import { PeerServer } from './peer-server.ts';

/** The route a server finds a request's handler under, and the JSON.parse calls it made for it. */
function routeOf(Server: typeof ServerTCP, pattern: string): { route: string; parses: number } {
  class Probe extends Server {
    route(p: string): string {
      return this.getRouteFromPattern(p);
    }
  }
  const server = new Probe({ host: '127.0.0.1', port: 0 });
  server.addHandler('imdgo.request', async () => true);
  const parse = vi.spyOn(JSON, 'parse');
  const route = server.route(pattern);
  const parses = parse.mock.calls.length;
  parse.mockRestore();
  return { route, parses };
}

describe('PeerServer', () => {
  it("routes its own patterns without Nest's JSON.parse (which throws on them)", () => {
    expect(routeOf(ServerTCP, 'imdgo.request')).toEqual({ route: 'imdgo.request', parses: 1 });
    expect(routeOf(PeerServer, 'imdgo.request')).toEqual({ route: 'imdgo.request', parses: 0 });
  });

  it('routes any other pattern as Nest does', () => {
    for (const pattern of ['imdgo.unknown', '{"cmd":"sum","a":1}', '"imdgo.request"', '42']) {
      expect(routeOf(PeerServer, pattern).route).toBe(routeOf(ServerTCP, pattern).route);
    }
  });
});
