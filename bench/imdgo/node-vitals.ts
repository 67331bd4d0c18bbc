import { Socket } from 'node:net';
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import type { ImdgoCluster } from 'imdgo';
import type { VitalsSample } from './protocol.ts';

const SAMPLE_MS = 100;
const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak callbacks',
};
/** Samples kept: the seconds before a leader change are what explain it. */
const KEPT = 300;

/**
 * What a bench node's process went through, sampled every 100 ms: how late its event loop ran, its GC
 * pauses, its heap, the bytes queued in its peer sockets, and its Raft role with how long ago it heard
 * from the leader (or, as leader, from its slowest follower). A stability run asks for the recent samples
 * when a leader changes.
 */
export class NodeVitals {
  private readonly samples: VitalsSample[] = [];
  private readonly loopDelay = monitorEventLoopDelay({ resolution: 10 });
  private readonly gc = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = GC_KINDS[(entry as unknown as { detail: { kind: number } }).detail.kind] ?? 'other';
      // Reported after the pause: what a full collection left is the live heap, garbage excluded.
      if (kind === 'major') this.liveHeapMB = process.memoryUsage().heapUsed / 1e6;
      this.gcCount++;
      this.gcTotalMs += entry.duration;
      if (entry.duration <= this.gcMaxMs) continue;
      this.gcMaxMs = entry.duration;
      this.gcMaxKind = kind;
    }
  });
  private readonly timer: NodeJS.Timeout;
  private readonly cluster: ImdgoCluster;
  private gcCount = 0;
  private gcMaxMs = 0;
  private gcMaxKind = '';
  private liveHeapMB = 0;
  private cpu = process.cpuUsage();
  private gcTotalMs = 0;

  constructor(cluster: ImdgoCluster) {
    this.cluster = cluster;
    this.loopDelay.enable();
    this.gc.observe({ entryTypes: ['gc'] });
    this.timer = setInterval(() => this.sample(), SAMPLE_MS);
    this.timer.unref();
  }

  /** The samples taken at or after `since` (Date.now() ms). */
  since(since: number): VitalsSample[] {
    return this.samples.filter((sample) => sample.at >= since);
  }

  stop(): void {
    clearInterval(this.timer);
    this.loopDelay.disable();
    this.gc.disconnect();
  }

  private sample(): void {
    const status = this.cluster.localStatus();
    const contact = status.members
      .filter(
        (member) => member.id !== status.nodeId && (status.role === 'leader' || member.id === status.leader),
      )
      .map((member) => member.lastContactMs ?? Number.POSITIVE_INFINITY);
    const { sockets, bytes } = this.peerSocketBytes();
    this.samples.push({
      at: Date.now(),
      role: status.role,
      term: status.term,
      leader: status.leader,
      lastIndex: status.lastIndex,
      appliedIndex: status.appliedIndex,
      leaderContactMs: contact.length === 0 ? null : Math.max(...contact),
      loopDelayMaxMs: this.loopDelay.max / 1e6,
      gcCount: this.gcCount,
      gcMaxMs: this.gcMaxMs,
      gcMaxKind: this.gcMaxKind,
      gcTotalMs: this.gcTotalMs,
      cpuMs: this.cpuSinceLastSample(),
      heapUsedMB: process.memoryUsage().heapUsed / 1e6,
      liveHeapMB: this.liveHeapMB,
      peerSockets: sockets,
      peerBufferedMaxBytes: bytes,
    });
    if (this.samples.length > KEPT) this.samples.shift();
    this.loopDelay.reset();
    this.gcCount = this.gcMaxMs = this.gcTotalMs = 0;
    this.gcMaxKind = '';
  }

  private cpuSinceLastSample(): number {
    const used = process.cpuUsage(this.cpu);
    this.cpu = process.cpuUsage();
    return (used.user + used.system) / 1000;
  }

  /**
   * The largest write queue (writableLength) among this process's TCP sockets, which are its peer links
   * (the orchestrator talks over an IPC pipe). Node has no public list of open sockets; `_getActiveHandles` is the
   * diagnostic one it keeps.
   */
  private peerSocketBytes(): { sockets: number; bytes: number } {
    // oxlint-disable-next-line no-underscore-dangle -- the one list of open sockets Node has
    const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
    let sockets = 0;
    let bytes = 0;
    for (const handle of handles) {
      if (!(handle instanceof Socket) || handle.remotePort === undefined) continue;
      sockets++;
      bytes = Math.max(bytes, handle.writableLength);
    }
    return { sockets, bytes };
  }
}
