/**
 * One node of the chaos cluster, in its own process: a Nest application context with ImdgoModule (fault
 * injection on), which runs client operations through the injected ImdgoStore and obeys the orchestrator
 * over IPC. Argument: a JSON NodeArgs. Runs from the build (dist/chaos/node.js): the module is decorated.
 */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ImdgoCluster, ImdgoModule, ImdgoStore } from 'imdgo';
import { ImdgoHealthIndicator } from 'imdgo/terminus';
import { ImdgoFaultInjector } from 'imdgo/testing';
import type { ClientOp, NodeArgs, NodeMessage, NodeReplies, NodeRequest, OpResult } from './protocol.ts';
import { digestState } from './state-digest.ts';

@Module({})
class ChaosNodeModule {}

const args = JSON.parse(process.argv[2]!) as NodeArgs;
// Without the orchestrator nobody would stop this process.
process.on('disconnect', () => process.exit(1));

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
        faultInjection: true,
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

async function runOp(op: ClientOp): Promise<OpResult> {
  switch (op.f) {
    case 'get':
      return {
        value:
          ((await store.get(op.key, { consistency: args.readConsistency })) as number | undefined) ?? null,
      };
    case 'set':
      await store.set(op.key, op.value);
      return { applied: true, current: op.value };
    case 'cas': {
      const result = await store.compareAndSet(op.key, op.expected, op.next);
      return { applied: result.applied, current: (result.current as number | undefined) ?? null };
    }
  }
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
      };
    }
    case 'block':
      faults.block(request.peers);
      return null;
    case 'heal':
      faults.heal();
      return null;
    case 'remove-member':
      await cluster.removeMember(request.id);
      return null;
    case 'digest':
      return digestState(store, cluster);
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
