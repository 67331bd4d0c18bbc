import { afterEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors.ts';
import { encodeCommand } from '../state-machine/commands.ts';
import { NodeCluster } from './testing/node-cluster.ts';

describe('RaftNode.writeStamped (writes a grid node routes under its own session)', () => {
  let cluster: NodeCluster;

  afterEach(async () => {
    await cluster.stopAll();
  });

  it('applies a command once however many replicas it is retried through', async () => {
    cluster = new NodeCluster(['a:1', 'b:1', 'c:1']);
    const leader = await cluster.startAll();
    const follower = [...cluster.nodes.values()].find((node) => node !== leader)!;
    const data = encodeCommand({
      session: { client: 'router', seq: 1, firstUnacked: 1 },
      command: { op: 'increment', map: '', key: 'n', delta: 1 },
    });
    const first = await follower.writeStamped(data);
    const again = await leader.writeStamped(data);
    expect(again).toEqual(first);
    expect(first.value).toBe(1);
    await cluster.caughtUp();
    expect(leader.machine.get('', 'n')?.value).toBe(1);
  });

  it('refuses what is not a command, or carries no session', async () => {
    cluster = new NodeCluster(['a:1']);
    const node = await cluster.startAll();
    await expect(node.writeStamped(new Uint8Array([0xc1]))).rejects.toThrow(InvalidArgumentError);
    await expect(
      node.writeStamped(encodeCommand({ command: { op: 'set', map: '', key: 'k', value: 1 } })),
    ).rejects.toThrow(/must carry a session/);
  });
});
