import { describe, expect, it } from 'vitest';
import { MemoryHub, MemoryTransport } from '../transport/memory-transport.ts';
import { unreachableMembers } from './unreachable-members.ts';

describe('unreachableMembers', () => {
  it('names the members that do not answer, whether down or cut off, and never this node', async () => {
    const hub = new MemoryHub();
    const [self, up, failing, cut] = ['a:1', 'b:1', 'c:1', 'd:1'].map((id) => new MemoryTransport(hub, id));
    up!.onRequest(async () => ({ ok: true }));
    failing!.onRequest(async () => {
      throw new Error('not the leader');
    });
    cut!.onRequest(async () => ({ ok: true }));
    for (const transport of [self, up, failing, cut]) await transport!.start();
    hub.disconnect('a:1', 'd:1');
    const members = ['a:1', 'b:1', 'c:1', 'd:1', 'e:1'];
    expect(await unreachableMembers(self!, 'a:1', members, 200)).toEqual(['d:1', 'e:1']);
    for (const transport of [self, up, failing, cut]) await transport!.stop();
  });
});
