import { describe, expect, it } from 'vitest';
import { jsonLines } from './json-rows.ts';
import type { MemoryResult, ResultRow } from './results.ts';

const summary = {
  ops: 1000,
  errors: 0,
  elapsedMs: 1000,
  opsPerSec: 1000,
  p50Ms: 0.5,
  p99Ms: 2,
  maxMs: 3,
  meanMs: 0.6,
  firstError: null,
  clientCpuUsPerOp: 10,
  serverCpuUsPerOp: 40,
};

const row = (overrides: Partial<ResultRow>): ResultRow => ({
  system: 'imdgo',
  mode: 'app',
  durable: false,
  round: 1,
  workload: 'write',
  concurrency: 64,
  on: 'leader',
  ...summary,
  ...overrides,
});

const REQUIRED = [
  'system',
  'workload',
  'concurrency',
  'on',
  'mode',
  'durable',
  'opsPerSec',
  'p50Ms',
  'p99Ms',
  'clientCpuUsPerOp',
  'serverCpuUsPerOp',
];

describe('--json rows', () => {
  const rows: ResultRow[] = [
    row({}),
    row({ system: 'etcd', durable: true, round: 2, workload: 'read', on: 'follower' }),
    row({ system: 'redis', on: 'single', workload: 'mix', clientCpuUsPerOp: null, serverCpuUsPerOp: null }),
    row({ workload: 'local-peek', concurrency: 1, on: 'follower' }),
    row({ system: 'etcd', mode: 'wire', durable: true, workload: 'local-get', on: 'follower' }),
    row({ mode: 'wire', arrivalPerSec: 2000 }),
  ];
  const parsed = jsonLines(rows, [], []).map((line) => JSON.parse(line) as Record<string, unknown>);

  it('writes one line per row, each with every required field and a known workload and mode', () => {
    expect(parsed).toHaveLength(rows.length);
    for (const line of parsed) {
      for (const field of REQUIRED) expect(line, field).toHaveProperty(field);
      expect(['write', 'read', 'mix', 'local']).toContain(line.workload);
      expect(['app', 'wire']).toContain(line.mode);
      expect(typeof line.durable).toBe('boolean');
      expect(typeof line.opsPerSec).toBe('number');
      for (const cpu of ['clientCpuUsPerOp', 'serverCpuUsPerOp']) {
        expect(line[cpu] === null || typeof line[cpu] === 'number', cpu).toBe(true);
      }
    }
  });

  it('keeps each row’s own values, client and server CPU apart', () => {
    expect(parsed[0]).toMatchObject({ system: 'imdgo', mode: 'app', durable: false, clientCpuUsPerOp: 10 });
    expect(parsed[0]).toMatchObject({ serverCpuUsPerOp: 40, loop: 'closed', arrivalPerSec: null });
    expect(parsed[1]).toMatchObject({ system: 'etcd', workload: 'read', on: 'follower', round: 2 });
    expect(parsed[2]).toMatchObject({ clientCpuUsPerOp: null, serverCpuUsPerOp: null });
    expect(parsed[5]).toMatchObject({ mode: 'wire', loop: 'open', arrivalPerSec: 2000 });
  });

  it('files local reads under "local", naming the call: in-process for imdgo, serializable for etcd', () => {
    expect(parsed[3]).toMatchObject({ workload: 'local', operation: 'local-peek', system: 'imdgo' });
    expect(parsed[4]).toMatchObject({ workload: 'local', operation: 'serializable-get', system: 'etcd' });
  });

  it('tags failover and memory lines with their kind, after the load rows', () => {
    const failover = {
      system: 'etcd' as const,
      fault: 'stop' as const,
      concurrency: 8,
      samplesMs: [900],
      allWritersMs: [950],
      rejoinMs: [100],
      medianMs: 900,
      maxMs: 900,
      allWritersMedianMs: 950,
      allWritersMaxMs: 950,
    };
    const lines = jsonLines([row({})], [failover], []).map((line) => JSON.parse(line) as { kind: string });
    expect(lines.map((line) => line.kind)).toEqual(['load', 'failover']);
  });

  it('writes one memory line per system, tagged kind "memory", with RSS after the load and at rest', () => {
    const memory: MemoryResult[] = [
      {
        system: 'imdgo',
        keys: 10,
        rawBytes: 1060,
        node: 'follower',
        rssBytes: 9e7,
        rssGrowthBytes: 3000,
        restSeconds: 150,
        rssAtRestBytes: 7e7,
        heapGrowthBytes: 2000,
        externalGrowthBytes: 500,
        arrayBufferGrowthBytes: 400,
        ratioToRaw: 2500 / 1060,
        leaderRssBytes: 1e8,
      },
      {
        system: 'redis',
        keys: 10,
        rawBytes: 1060,
        node: 'single',
        rssBytes: 5e6,
        rssGrowthBytes: 2000,
        restSeconds: 150,
        rssAtRestBytes: 4e6,
      },
    ];
    const lines = jsonLines([], [], memory).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      kind: 'memory',
      system: 'imdgo',
      node: 'follower',
      heapGrowthBytes: 2000,
      restSeconds: 150,
      rssAtRestBytes: 7e7,
    });
    expect(lines[1]).toMatchObject({ kind: 'memory', system: 'redis', rssBytes: 5e6, rssAtRestBytes: 4e6 });
    expect(lines[1]).not.toHaveProperty('logBytesPerWrite');
  });
});
