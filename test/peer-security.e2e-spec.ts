import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ImdgoModule } from 'imdgo';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { encodeCommand } from '../libs/imdgo/src/state-machine/commands.ts';
import { packFrame } from '../libs/imdgo/src/transport/msgpack-codec.ts';
import { PeerHandshake } from '../libs/imdgo/src/transport/peer-handshake.ts';
import { createTestPki } from '../libs/imdgo/testing/test-certificates.ts';
import { startCluster, waitFor, type TestCluster, type TestNode } from './support/cluster.ts';
import { connectHostile, raftFrame, type HostileConnection } from './support/hostile-peer.ts';
import { testLogger } from './support/quiet-logs.ts';

const SECRET = 'the cluster secret of this test';
const pki = createTestPki();
const tls = { key: pki.node.key, cert: pki.node.cert, ca: pki.ca };

/** What an outsider who reached a follower's port would send: an append of a forged write, and a vote. */
function forgedFrames(leader: TestNode, target: TestNode): Buffer {
  const { term, lastIndex } = target.runtime.node.localStatus();
  const data = encodeCommand({ command: { op: 'set', map: '', key: 'forged', value: 1 } });
  const append = {
    type: 'append',
    from: leader.id,
    to: target.id,
    term: term + 1,
    prevIndex: lastIndex,
    prevTerm: term,
    entries: [{ index: lastIndex + 1, term: term + 1, kind: 'command', data }],
    commit: lastIndex + 1,
  };
  const vote = {
    type: 'vote',
    from: '127.0.0.1:1',
    to: target.id,
    term: term + 100,
    lastIndex: 1e9,
    lastTerm: term + 99,
    transfer: true,
  };
  return Buffer.concat([raftFrame(leader.id, [append]), raftFrame('127.0.0.1:1', [vote])]);
}

/** Term and last index of every node: what a forged frame that got through would have moved. */
const raftState = (cluster: TestCluster) =>
  cluster.nodes.map((node) => {
    const { term, lastIndex } = node.runtime.node.localStatus();
    return { term, lastIndex };
  });

async function expectServing(cluster: TestCluster, key: string): Promise<void> {
  const [follower] = await cluster.followers();
  await follower!.store.set(key, 'ok');
  for (const node of cluster.nodes) expect(await node.store.get(key)).toBe('ok');
}

let warn: ReturnType<typeof vi.spyOn>;
beforeEach(() => {
  warn = vi.spyOn(Logger.prototype, 'warn');
});
afterEach(() => warn.mockRestore());

const warned = (pattern: RegExp) =>
  vi.waitFor(() => expect(warn).toHaveBeenCalledWith(expect.stringMatching(pattern)));

/**
 * Sends forged frames on `connection` (after `prefix`, in the same write) and checks they were refused:
 * the connection closed and no state moved.
 */
async function expectRefused(
  cluster: TestCluster,
  connection: HostileConnection,
  target: TestNode,
  prefix: Buffer = Buffer.alloc(0),
) {
  const before = raftState(cluster);
  connection.write(Buffer.concat([prefix, forgedFrames(await cluster.leader(), target)]));
  expect(await connection.closedWithin(2_000)).toBe(true);
  // Several heartbeats: a forged term or entry would have shown by now.
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(raftState(cluster)).toEqual(before);
  for (const node of cluster.nodes) expect(node.store.peek('forged')).toBeUndefined();
}

describe('a cluster with mutual TLS', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startCluster(3, { tls });
  });
  afterAll(() => cluster.closeAll());

  it('replicates writes and serves linearizable reads on every node', async () => {
    await expectServing(cluster, 'tls:first');
  });

  it('refuses a peer whose certificate another CA issued, and keeps working', async () => {
    const [target] = await cluster.followers();
    const rogue = { key: pki.rogue.key, cert: pki.rogue.cert, ca: pki.ca };
    // TLS 1.3: the client finishes its handshake before the server has checked the client's certificate.
    const connection = await connectHostile(target!.id, rogue);
    await expectRefused(cluster, connection, target!);
    await warned(
      /^Refusing TLS connection from .*: client certificate refused \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/,
    );
    await expectServing(cluster, 'tls:after-rogue');
  });

  it('refuses a certificate of the CA for another name speaking as a member, and keeps working', async () => {
    const [target] = await cluster.followers();
    const misnamed = { key: pki.wrongName.key, cert: pki.wrongName.cert, ca: pki.ca };
    const connection = await connectHostile(target!.id, misnamed, { hello: true });
    await expectRefused(cluster, connection, target!);
    await warned(/the client certificate does not name 127\.0\.0\.1:\d+: /);
    await expectServing(cluster, 'tls:after-misnamed');
  });

  it('refuses a plain TCP client, and keeps working', async () => {
    const [target] = await cluster.followers();
    const connection = await connectHostile(target!.id);
    await expectRefused(cluster, connection, target!);
    await warned(new RegExp(`^Refusing TLS connection from 127\\.0\\.0\\.1:${connection.localPort}: `));
    await expectServing(cluster, 'tls:after-plain');
  });
});

describe('a cluster with a cluster secret', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startCluster(3, { clusterSecret: SECRET });
  });
  afterAll(() => cluster.closeAll());

  it('replicates writes and serves linearizable reads on every node', async () => {
    await expectServing(cluster, 'secret:first');
  });

  it('refuses forged Raft frames from a client that skips the handshake', async () => {
    const [target] = await cluster.followers();
    const connection = await connectHostile(target!.id);
    await expectRefused(cluster, connection, target!);
    await warned(
      new RegExp(
        `^Dropping connection with 127\\.0\\.0\\.1:${connection.localPort}: packet before the cluster-secret handshake completed`,
      ),
    );
    await expectServing(cluster, 'secret:after-raw');
  });

  it('refuses a client with another secret, even when it sends right after its answer', async () => {
    const leader = await cluster.leader();
    const connection = await connectHostile(leader.id);
    await waitFor(() => connection.frames.length === 1, 'the challenge');
    const guess = new PeerHandshake({
      role: 'client',
      secret: 'a wrong guess of the secret',
      self: '127.0.0.1:1',
      peer: leader.id,
    });
    await expectRefused(cluster, connection, leader, packFrame(guess.receive(connection.frames[0])));
    await warned(
      new RegExp(
        `^Dropping connection with 127\\.0\\.0\\.1:${connection.localPort}: handshake failed: wrong client proof`,
      ),
    );
    expect(connection.frames).toHaveLength(1);
    await expectServing(cluster, 'secret:after-guess');
  });
});

describe('a cluster with both', () => {
  it('replicates writes and serves linearizable reads on every node', async () => {
    const cluster = await startCluster(3, { tls, clusterSecret: SECRET });
    try {
      await expectServing(cluster, 'both');
      expect(warn).not.toHaveBeenCalledWith(expect.stringMatching(/Refusing|Dropping/));
    } finally {
      await cluster.closeAll();
    }
  });
});

describe('a cluster without them', () => {
  it('applies the same forged frames: what the options are for', async () => {
    // The forged frames are the one group's Raft messages.
    const cluster = await startCluster(3, { partitions: 1 });
    try {
      const [target] = await cluster.followers();
      // The hello names a protocol version, which proves nothing.
      const connection = await connectHostile(target!.id, undefined, { hello: true });
      connection.write(forgedFrames(await cluster.leader(), target!));
      await waitFor(() => target!.store.peek('forged') === 1, 'the forged write on the follower');
      connection.close();
    } finally {
      await cluster.closeAll();
    }
  });
});

describe('invalid security options fail at startup naming the field, without showing it', () => {
  it.each([
    [{ clusterSecret: 'too short' }, /"clusterSecret" \(value not shown\): .*16 characters/],
    [{ tls: { ...tls, key: 'not a key' } }, /"tls\.key" \(value not shown\): must be a PEM private key/],
    [{ tls: { ...tls, cert: pki.rogue.cert } }, /"tls\.cert" .*: is not the certificate of tls\.key/],
    [{ tls: { ...tls, ca: [pki.ca, 'junk'] } }, /"tls\.ca" .*: must be a PEM certificate/],
    [{ tls: { key: tls.key, cert: tls.cert } }, /"tls\.ca"/],
    [{ tls: { ...tls, verifyHost: false } }, /unknown option "tls\.verifyHost"/],
  ])('%#', async (options, message) => {
    const failure = await Test.createTestingModule({
      imports: [ImdgoModule.forRoot({ members: ['127.0.0.1:1'], ...options } as never)],
    })
      .setLogger(testLogger())
      .compile()
      .then(
        () => null,
        (error: Error) => error.message,
      );
    expect(failure).toMatch(message);
    expect(failure).not.toContain('PRIVATE KEY');
    expect(failure).not.toContain('too short');
  });
});
