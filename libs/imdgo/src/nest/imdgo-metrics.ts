import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { NodeObserver } from '../driver/node-observer.ts';
import { ImdgoRuntime } from './imdgo-runtime.ts';

const ROLES = ['follower', 'pre-candidate', 'candidate', 'leader'] as const;

/**
 * Prometheus metrics of this node (prom-client), in their own registry so an app can merge or serve it:
 * `await metrics.registry.metrics()`. Gauges are read from the node at scrape time; counters and
 * histograms are fed by the driver.
 */
@Injectable()
export class ImdgoMetrics implements NodeObserver {
  readonly registry = new Registry();
  private readonly writeSeconds: Histogram<'path'>;
  private readonly applySeconds: Histogram;
  private readonly appliedEntries: Counter;
  private readonly forwardedWrites: Counter;
  private readonly readIndexRounds: Counter;
  private readonly readIndexReads: Counter;
  private readonly leaderChanges: Counter;
  private readonly snapshotTransfers: Counter<'direction'>;
  private readonly snapshotBytes: Counter<'direction'>;
  /** Read from the node at each scrape. */
  private readonly gauges: Gauge[] = [];

  constructor(runtime: ImdgoRuntime) {
    const registers = [this.registry];
    const node = () => runtime.node;
    this.writeSeconds = new Histogram({
      name: 'imdgo_write_seconds',
      help: 'Latency of writes started on this node, until applied here',
      labelNames: ['path'],
      buckets: [0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.applySeconds = new Histogram({
      name: 'imdgo_apply_batch_seconds',
      help: 'Time to apply one batch of committed entries to the state machine',
      buckets: [0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1],
      registers,
    });
    this.appliedEntries = new Counter({
      name: 'imdgo_applied_entries_total',
      help: 'Log entries applied',
      registers,
    });
    this.forwardedWrites = new Counter({
      name: 'imdgo_forwarded_writes_served_total',
      help: 'Writes forwarded by followers and proposed by this node as leader',
      registers,
    });
    this.readIndexRounds = new Counter({
      name: 'imdgo_read_index_rounds_total',
      help: 'ReadIndex rounds started',
      registers,
    });
    this.readIndexReads = new Counter({
      name: 'imdgo_read_index_reads_total',
      help: 'Linearizable reads served through ReadIndex rounds',
      registers,
    });
    this.snapshotTransfers = new Counter({
      name: 'imdgo_snapshot_transfers_total',
      help: 'Snapshots streamed to followers (sent) or installed from the leader (installed)',
      labelNames: ['direction'],
      registers,
    });
    this.snapshotBytes = new Counter({
      name: 'imdgo_snapshot_transfer_bytes_total',
      help: 'Bytes of snapshot images sent or installed',
      labelNames: ['direction'],
      registers,
    });
    this.leaderChanges = new Counter({
      name: 'imdgo_leader_changes_total',
      help: 'Changes of the known leader',
      registers,
    });
    this.gauges.push(
      new Gauge({
        name: 'imdgo_term',
        help: 'Current Raft term',
        registers,
        collect() {
          this.set(node().localStatus().term);
        },
      }),
    );
    this.gauges.push(
      new Gauge({
        name: 'imdgo_role',
        help: 'Current role of this node (1 for the active role)',
        labelNames: ['role'],
        registers,
        collect() {
          const role = node().localStatus().role;
          for (const r of ROLES) this.set({ role: r }, r === role ? 1 : 0);
        },
      }),
    );
    this.gauges.push(
      new Gauge({
        name: 'imdgo_index',
        help: 'Raft log indexes of this node',
        labelNames: ['kind'],
        registers,
        collect() {
          const status = node().localStatus();
          this.set({ kind: 'commit' }, status.commitIndex);
          this.set({ kind: 'applied' }, status.appliedIndex);
          this.set({ kind: 'last' }, status.lastIndex);
        },
      }),
    );
    this.gauges.push(
      new Gauge({
        name: 'imdgo_keys',
        help: 'Live keys held by this node, across all maps',
        registers,
        collect() {
          const machine = node().machine;
          this.set(machine.mapNames().reduce((sum, map) => sum + machine.size(map), 0));
        },
      }),
    );
    this.gauges.push(
      new Gauge({
        name: 'imdgo_process_heap_bytes',
        help: 'V8 heap in use by this process (approximate memory of the store and the app)',
        registers,
        collect() {
          this.set(process.memoryUsage().heapUsed);
        },
      }),
    );
    this.gauges.push(
      new Gauge({
        name: 'imdgo_peer_replication_lag_entries',
        help: 'Entries each member is behind the leader (reported by the leader only)',
        labelNames: ['peer'],
        registers,
        collect() {
          this.reset();
          for (const member of node().localStatus().members) {
            if (member.lag !== null) this.set({ peer: member.id }, member.lag);
          }
        },
      }),
    );
    // With partitions > 1 (the node-level gauges above then describe the coordination group).
    const partitionRoles = () => runtime.grid?.status().map((p) => p.role) ?? [];
    this.gauges.push(
      new Gauge({
        name: 'imdgo_partitions',
        help: 'Partitions this node holds a replica of, by its role in them (partitions > 1 only)',
        labelNames: ['role'],
        registers,
        collect() {
          this.reset();
          if (!runtime.grid) return;
          const roles = partitionRoles();
          this.set({ role: 'leader' }, roles.filter((role) => role === 'leader').length);
          this.set({ role: 'follower' }, roles.filter((role) => role !== null && role !== 'leader').length);
        },
      }),
      new Gauge({
        name: 'imdgo_grid_forwarded_calls',
        help: 'Calls routed to a replica on another node since start (partitions > 1 only)',
        registers,
        collect() {
          this.set(runtime.grid?.stats().routedOps ?? 0);
        },
      }),
    );
    this.gauges.push(
      new Gauge({
        name: 'imdgo_watch_subscribers',
        help: 'Open subscriptions to change streams',
        registers,
        collect() {
          this.set(runtime.watchers);
        },
      }),
    );
    runtime.observe(this);
  }

  writeCompleted(seconds: number, forwarded: boolean): void {
    this.writeSeconds.observe({ path: forwarded ? 'forwarded' : 'leader' }, seconds);
  }

  entriesApplied(count: number, seconds: number): void {
    this.appliedEntries.inc(count);
    this.applySeconds.observe(seconds);
  }

  forwardedWriteServed(): void {
    this.forwardedWrites.inc();
  }

  readIndexRound(reads: number): void {
    this.readIndexRounds.inc();
    this.readIndexReads.inc(reads);
  }

  leaderChanged(): void {
    this.leaderChanges.inc();
  }

  snapshotTransferred(direction: 'sent' | 'installed', bytes: number): void {
    this.snapshotTransfers.inc({ direction });
    this.snapshotBytes.inc({ direction }, bytes);
  }
}
