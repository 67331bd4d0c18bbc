import { describe, expect, it } from 'vitest';
import type { VitalsSample } from './protocol.ts';
import { VitalsReport } from './vitals-report.ts';

const START = 1_000_000;

function sample(atMs: number, changes: Partial<VitalsSample> = {}): VitalsSample {
  return {
    at: START + atMs,
    role: 'follower',
    term: 1,
    leader: 'a',
    lastIndex: 10,
    appliedIndex: 10,
    leaderContactMs: 20,
    loopDelayMaxMs: 5,
    gcCount: 1,
    gcMaxMs: 2,
    gcMaxKind: 'minor',
    gcTotalMs: 2,
    cpuMs: 40,
    heapUsedMB: 50,
    liveHeapMB: 30,
    peerSockets: 4,
    peerBufferedMaxBytes: 0,
    ...changes,
  };
}

describe('VitalsReport', () => {
  it('keeps each node’s peaks and when they were, across collections', () => {
    const report = new VitalsReport(START);
    report.add('n1', [
      sample(100),
      sample(1_200, { gcMaxMs: 700, gcMaxKind: 'major', loopDelayMaxMs: 720, cpuMs: 150 }),
    ]);
    report.add('n1', [sample(2_500, { leaderContactMs: 900 })]);
    const [line] = report.summary();
    expect(line).toContain('event-loop delay max 720 ms at 1.2 s (CPU 150 ms in the 1100 ms before)');
    expect(line).toContain('GC 3 pauses');
    expect(line).toContain('longest 700 ms (major) at 1.2 s');
    expect(line).toContain('leader contact age max 900 ms at 2.5 s');
  });

  it('prints one line per second with the roles passed through and the worst of each vital', () => {
    const report = new VitalsReport(START);
    const lines = report.seconds('n2', [
      sample(100, { loopDelayMaxMs: 30 }),
      sample(200, { role: 'pre-candidate', loopDelayMaxMs: 300 }),
      sample(1_100, { role: 'leader', term: 2 }),
    ]);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain('n2 0.1 s: follower t1>pre-candidate t1');
    expect(lines[0]).toContain('loop 300 ms, CPU 80 ms');
    expect(lines[1]).toContain('n2 1.1 s: leader t2');
  });
});
