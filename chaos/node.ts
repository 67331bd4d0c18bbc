/**
 * One node of the chaos cluster, in its own process: a Nest application context with ImdgoModule (fault
 * injection on), which runs client operations through the injected ImdgoStore and obeys the orchestrator
 * over IPC. Argument: a JSON NodeArgs. Runs from the build (dist/chaos/node.js): the module is decorated.
 */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ImdgoCluster, ImdgoModule, ImdgoStore, type ImdgoLock } from 'imdgo';
import { ImdgoHealthIndicator } from 'imdgo/terminus';
import { ImdgoFaultInjector } from 'imdgo/testing';
import { ImdgoRuntime } from '../libs/imdgo/src/nest/imdgo-runtime.ts';
import { loseWalTail } from './lose-wal-tail.ts';
import {
  BREAK_ENV,
  BREAKAGES,
  type Breakage,
  type ClientOp,
  type FencedWrite,
  type LockGrant,
  type NodeArgs,
  type NodeMessage,
  type NodeReplies,
  type NodeRequest,
  type OpResult,
} from './protocol.ts';
import { digestState } from './state-digest.ts';

@Module({})
class ChaosNodeModule {}

const args = JSON.parse(process.argv[2]!) as NodeArgs;
// Without the orchestrator nobody would stop this process.
process.on('disconnect', () => process.exit(1));
// The clock faults move this process's wall clock: every Date.now() in it, the library's included.
const realNow = Date.now.bind(Date);
let clockOffsetMs = 0;
Date.now = () => realNow() + clockOffsetMs;
const breakage = process.env[BREAK_ENV] as Breakage | undefined;
if (breakage !== undefined && !BREAKAGES.includes(breakage)) {
  throw new Error(`${BREAK_ENV} must be one of ${BREAKAGES.join(', ')}, got "${breakage}"`);
}
if (breakage === 'lose-tail' && args.dataDir !== null) loseWalTail(args.dataDir);

const app = await NestFactory.createApplicationContext(
  {
    module: ChaosNodeModule,
    imports: [
      ImdgoModule.forRoot({
        members: [...args.members],
        nodeId: args.nodeId,
        ...(args.dataDir !== null && { dataDir: args.dataDir }),
        tickMs: args.tickMs,
        electionTicks: args.electionTicks,
        heartbeatTicks: 1,
        requestTimeoutMs: args.requestTimeoutMs,
        snapshotThreshold: args.snapshotThreshold,
        lockSessionTtlMs: args.lockSessionTtlMs,
        faultInjection: true,
        partitions: args.partitions,
      }),
    ],
    providers: [ImdgoHealthIndicator],
  },
  { logger: ['error', 'warn', 'log'] },
);
const store = app.get(ImdgoStore);
const cluster = app.get(ImdgoCluster);
const faults = app.get(ImdgoFaultInjector);
const health = app.get(ImdgoHealthIndicator);
const runtime = app.get(ImdgoRuntime);
const readConsistency = breakage === 'stale-reads' ? 'local' : 'linearizable';

function conditional(result: { applied: boolean; current: unknown; version: number }): OpResult {
  return {
    applied: result.applied,
    current: (result.current as number | undefined) ?? null,
    version: result.version,
  };
}

async function runOp(op: ClientOp): Promise<OpResult> {
  const ttl = op.f !== 'get' && op.f !== 'delete' && op.ttlMs !== undefined ? { ttl: op.ttlMs } : {};
  switch (op.f) {
    case 'get': {
      const entry = await store.getEntry(op.key, { consistency: readConsistency });
      return { read: (entry?.value as number | undefined) ?? null, version: entry?.version ?? 0 };
    }
    case 'set':
      await store.set(op.key, op.value, ttl);
      return { applied: true, current: op.value };
    case 'delete': {
      const result = await store.delete(op.key);
      return { applied: result.deleted, current: null, version: 0 };
    }
    case 'cas':
      return conditional(await store.compareAndSet(op.key, op.expected, op.next, ttl));
    case 'putIfAbsent':
      return conditional(await store.putIfAbsent(op.key, op.value, ttl));
    case 'setIfVersion':
      return conditional(await store.setIfVersion(op.key, op.version, op.value, ttl));
    case 'increment': {
      const result = await store.increment(op.key, op.delta, ttl);
      // As a retry that bypasses the exactly-once session would.
      if (breakage === 'double-increment') await store.increment(op.key, op.delta, ttl);
      return { applied: true, current: result.value };
    }
  }
}

/** Locks this node holds for the orchestrator, by handle; null: a fake grant of the stale-lock breakage. */
const heldLocks = new Map<number, ImdgoLock | null>();
let nextHandle = 1;
/** The newest token this node was granted per lock name (what the stale-lock breakage hands out again). */
const lastTokens = new Map<string, number>();
/**
 * A grant whose release never comes (the orchestrator gave up waiting for the grant, or lost the node) is
 * abandoned after this long, well beyond a hold and a write (the orchestrator releases within about 3 s
 * of the grant), so that the lock does not stay held for good.
 */
const ABANDON_AFTER_MS = 10_000;

async function acquireLock(name: string, waitMs: number | null): Promise<LockGrant> {
  const stale = lastTokens.get(name);
  if (breakage === 'stale-lock' && stale !== undefined) {
    heldLocks.set(nextHandle, null);
    return { handle: nextHandle++, token: stale };
  }
  const lock = store.lock(name);
  const token = waitMs === null ? await lock.lock() : await lock.tryLock({ waitMs });
  if (token === null) return null;
  lastTokens.set(name, Math.max(token, lastTokens.get(name) ?? 0));
  const lockHandle = nextHandle++;
  heldLocks.set(lockHandle, lock);
  setTimeout(() => void releaseLock(lockHandle, true).catch(() => undefined), ABANDON_AFTER_MS).unref();
  return { handle: lockHandle, token };
}

/** `unlock()` on the orchestrator's request; `abandon()` (however many times taken) when it never came. */
async function releaseLock(lockHandle: number, abandoned = false): Promise<void> {
  if (!heldLocks.has(lockHandle)) return;
  const lock = heldLocks.get(lockHandle);
  heldLocks.delete(lockHandle);
  await (abandoned ? lock?.abandon() : lock?.unlock());
}

/** The fenced resource: a register that takes a write only with a token above the one it holds. */
async function fencedWrite(name: string, token: number): Promise<FencedWrite> {
  const key = `fence/${name}`;
  for (;;) {
    const entry = await store.getEntry(key, { consistency: 'linearizable' });
    const stored = (entry?.value as number | undefined) ?? 0;
    if (token <= stored) return { accepted: false, stored };
    const result = await store.setIfVersion(key, entry?.version ?? 0, token);
    if (result.applied) return { accepted: true, stored };
  }
}

/** Replicas per member in this node's placement table, and those of this node it does not host (status). */
function placementStatus(): { replicasHeld: Record<string, number> | null; unhostedReplicas: number } {
  const report = cluster.partitions();
  if (report === null) return { replicasHeld: null, unhostedReplicas: 0 };
  const held: Record<string, number> = {};
  let unhosted = 0;
  for (const partition of report.partitions) {
    for (const member of partition.voters) held[member] = (held[member] ?? 0) + 1;
    if (partition.role === null && partition.voters.includes(report.nodeId)) unhosted++;
  }
  return { replicasHeld: held, unhostedReplicas: unhosted };
}

async function handle(request: NodeRequest): Promise<NodeReplies[NodeRequest['kind']]> {
  switch (request.kind) {
    case 'op':
      return runOp(request.op);
    case 'status': {
      const status = cluster.localStatus();
      const readiness = await health.isReady();
      return {
        ready: readiness.imdgo.status === 'up',
        role: status.role,
        leader: status.leader,
        term: status.term,
        commitIndex: status.commitIndex,
        appliedIndex: status.appliedIndex,
        voters: status.members.filter((m) => m.voter).map((m) => m.id),
        others: status.members.filter((m) => !m.voter).map((m) => m.id),
        ...placementStatus(),
      };
    }
    case 'block':
      faults.block(request.peers);
      return null;
    case 'heal':
      faults.heal();
      return null;
    case 'clock':
      clockOffsetMs = request.offsetMs;
      return null;
    case 'remove-member':
      await cluster.removeMember(request.id, request.timeoutMs);
      return null;
    case 'digest':
      return digestState(runtime);
    case 'lock-acquire':
      return acquireLock(request.name, request.waitMs);
    case 'lock-write':
      return fencedWrite(request.name, request.token);
    case 'lock-release':
      await releaseLock(request.handle);
      return null;
    case 'stop':
      await app.close();
      return null;
  }
}

function reply(message: NodeMessage, then?: () => void): void {
  if (process.connected) process.send!(message, undefined, undefined, then);
}

process.on('message', (message: { id: number; request: NodeRequest }) => {
  const { id, request } = message;
  handle(request).then(
    (result) =>
      reply({ type: 'reply', id, result }, request.kind === 'stop' ? () => process.exit(0) : undefined),
    (error: unknown) => {
      const { name, message: text } = error instanceof Error ? error : new Error(String(error));
      reply({ type: 'reply', id, error: { name, message: text } });
    },
  );
});
reply({ type: 'ready' });
