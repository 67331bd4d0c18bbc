import type { VitalsSample } from './protocol.ts';

interface Peak {
  value: number;
  at: number;
}

interface NodeTotals {
  /** With the CPU the process used over the sample's interval, and that interval. */
  loopDelay: Peak & { cpuMs: number; overMs: number };
  lastAt: number;
  gcPause: Peak & { kind: string };
  gcCount: number;
  gcTotalMs: number;
  heapUsedMB: Peak;
  buffered: Peak;
  leaderContact: Peak;
  sockets: number;
  heapNowMB: number;
  liveHeapMB: number;
}

/** The stability run's account of each node's vitals: whole-run peaks, and second-by-second around an event. */
export class VitalsReport {
  private readonly totals = new Map<string, NodeTotals>();
  private readonly started: number;

  /** `started`: Date.now() at the start of the load, which times are printed from. */
  constructor(started: number) {
    this.started = started;
  }

  add(node: string, samples: readonly VitalsSample[]): void {
    let totals = this.totals.get(node);
    if (totals === undefined) {
      totals = {
        loopDelay: { ...none(), cpuMs: 0, overMs: 0 },
        lastAt: 0,
        gcPause: { ...none(), kind: '' },
        gcCount: 0,
        gcTotalMs: 0,
        heapUsedMB: none(),
        buffered: none(),
        leaderContact: none(),
        sockets: 0,
        heapNowMB: 0,
        liveHeapMB: 0,
      };
      this.totals.set(node, totals);
    }
    for (const s of samples) {
      if (s.loopDelayMaxMs > totals.loopDelay.value) {
        totals.loopDelay.cpuMs = s.cpuMs;
        totals.loopDelay.overMs = totals.lastAt === 0 ? 0 : s.at - totals.lastAt;
      }
      raise(totals.loopDelay, s.loopDelayMaxMs, s.at);
      totals.lastAt = s.at;
      if (s.gcMaxMs > totals.gcPause.value) totals.gcPause.kind = s.gcMaxKind;
      raise(totals.gcPause, s.gcMaxMs, s.at);
      totals.gcCount += s.gcCount;
      totals.gcTotalMs += s.gcTotalMs;
      raise(totals.heapUsedMB, s.heapUsedMB, s.at);
      raise(totals.buffered, s.peerBufferedMaxBytes, s.at);
      if (s.leaderContactMs !== null) raise(totals.leaderContact, s.leaderContactMs, s.at);
      totals.sockets = s.peerSockets;
      totals.heapNowMB = s.heapUsedMB;
      totals.liveHeapMB = s.liveHeapMB;
    }
  }

  /** Per node, the run's peaks and when they were. */
  summary(): string[] {
    return [...this.totals].map(
      ([node, t]) =>
        `  ${node}: event-loop delay max ${t.loopDelay.value.toFixed(0)} ms at ${this.time(t.loopDelay.at)} ` +
        `(CPU ${t.loopDelay.cpuMs.toFixed(0)} ms in the ${t.loopDelay.overMs.toFixed(0)} ms before); ` +
        `GC ${t.gcCount} pauses, ${(t.gcTotalMs / 1000).toFixed(1)} s in all, longest ${t.gcPause.value.toFixed(0)} ms ` +
        `(${t.gcPause.kind}) at ${this.time(t.gcPause.at)}; heap used max ${t.heapUsedMB.value.toFixed(0)} MB at ` +
        `${this.time(t.heapUsedMB.at)}, live at the end ${t.liveHeapMB.toFixed(0)} MB; peer socket queue max ${(t.buffered.value / 1024).toFixed(0)} KiB (of ${t.sockets} sockets); ` +
        `leader contact age max ${t.leaderContact.value.toFixed(0)} ms at ${this.time(t.leaderContact.at)}`,
    );
  }

  /** Per node in a few words: heap used now, and the longest GC pause and event-loop delay so far. */
  brief(): string {
    return [...this.totals]
      .map(
        ([node, t]) =>
          `${node} heap ${t.heapNowMB.toFixed(0)} MB (live ${t.liveHeapMB.toFixed(0)} MB), GC max ${t.gcPause.value.toFixed(0)} ms, ` +
          `loop max ${t.loopDelay.value.toFixed(0)} ms`,
      )
      .join('; ');
  }

  /** Per node, one line per second of `samples`: role and term, and the worst of each vital in that second. */
  seconds(node: string, samples: readonly VitalsSample[]): string[] {
    const bySecond = new Map<number, VitalsSample[]>();
    for (const s of samples) {
      const second = Math.floor((s.at - this.started) / 1000);
      bySecond.set(second, [...(bySecond.get(second) ?? []), s]);
    }
    return [...bySecond.values()].map((group) => {
      const last = group.at(-1)!;
      const max = (of: (s: VitalsSample) => number): number => Math.max(...group.map(of));
      const roles = [...new Set(group.map((s) => `${s.role} t${s.term}`))].join('>');
      return (
        `  ${node} ${this.time(group[0]!.at)}: ${roles}, contact ${max((s) => s.leaderContactMs ?? 0).toFixed(0)} ms, ` +
        `loop ${max((s) => s.loopDelayMaxMs).toFixed(0)} ms, CPU ${group.reduce((n, s) => n + s.cpuMs, 0).toFixed(0)} ms, GC ${group.reduce((n, s) => n + s.gcCount, 0)} ` +
        `max ${max((s) => s.gcMaxMs).toFixed(0)} ms ${group.find((s) => s.gcMaxMs === max((x) => x.gcMaxMs))?.gcMaxKind ?? ''}, heap ${last.heapUsedMB.toFixed(0)} MB (live ${last.liveHeapMB.toFixed(0)}), ` +
        `queue ${(max((s) => s.peerBufferedMaxBytes) / 1024).toFixed(0)} KiB, log ${last.lastIndex} applied ${last.appliedIndex}`
      );
    });
  }

  private time(at: number): string {
    return `${((at - this.started) / 1000).toFixed(1)} s`;
  }
}

function none(): Peak {
  return { value: 0, at: 0 };
}

function raise(peak: Peak, value: number, at: number): void {
  if (value <= peak.value) return;
  peak.value = value;
  peak.at = at;
}
