import { describe, expect, it } from 'vitest';
import { readDemoConfig } from './demo-config.ts';

const MEMBERS = '127.0.0.1:6701,127.0.0.1:6702,127.0.0.1:6703';

describe('readDemoConfig', () => {
  it('reads the command line', () => {
    const config = readDemoConfig(
      ['--id', '127.0.0.1:6702', '--members', MEMBERS, '--http-port', '3002'],
      {},
    );
    expect(config).toEqual({
      nodeId: '127.0.0.1:6702',
      members: ['127.0.0.1:6701', '127.0.0.1:6702', '127.0.0.1:6703'],
      httpHost: '127.0.0.1',
      httpPort: 3002,
    });
  });

  it('falls back on the environment, and lets flags win over it', () => {
    const env = { IMDGO_MEMBERS: ` ${MEMBERS} `, IMDGO_NODE_ID: '127.0.0.1:6703', HTTP_PORT: '3003' };
    expect(readDemoConfig([], env)).toMatchObject({ nodeId: '127.0.0.1:6703', httpPort: 3003 });
    expect(readDemoConfig(['--http-port', '4000'], env).httpPort).toBe(4000);
  });

  it('leaves the node id to the library when none is given, and defaults the HTTP address', () => {
    expect(readDemoConfig(['--members', 'a:1'], { IMDGO_NODE_ID: '', HTTP_PORT: '' })).toEqual({
      nodeId: undefined,
      members: ['a:1'],
      httpHost: '127.0.0.1',
      httpPort: 3000,
    });
  });

  it('refuses missing members, bad ports and unknown flags, with the usage', () => {
    expect(() => readDemoConfig([], {})).toThrow(/no members given\nusage:/);
    expect(() => readDemoConfig(['--members', 'a:1', '--http-port', 'http'], {})).toThrow(/"http"\nusage:/);
    expect(() => readDemoConfig(['--members', 'a:1', '--port', '1'], {})).toThrow(/--port.*\nusage:/s);
  });
});
