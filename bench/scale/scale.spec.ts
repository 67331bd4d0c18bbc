import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { LoadSummary } from '../load/latency.ts';
import { parseOptions } from '../options.ts';
import { CFS_PERIOD_US, cfsQuotaUs, cgroupUnavailable, parseCpuStat } from './cgroup.ts';
import { sumOfMetric } from './scale-cluster.ts';
import {
  formatSummaries,
  scaleRatios,
  scaleRow,
  spreadOf,
  summarize,
  type ClusterFootprint,
  type ScaleRow,
} from './scale-rows.ts';
import { spreadKv } from './spread-kv.ts';

const load = (opsPerSec: number): LoadSummary => ({
  ops: opsPerSec * 10,
  errors: 0,
  elapsedMs: 10_000,
  opsPerSec,
  p50Ms: 5,
  p99Ms: 20,
  maxMs: 40,
  meanMs: 6,
  firstError: null,
});

const footprint = (bytesPerNode: number, replicasPerNode: number): ClusterFootprint => ({
  keys: 10_000,
  bytesPerNode,
  maxBytesPerNode: bytesPerNode * 1.1,
  rssBytesPerNode: bytesPerNode * 2,
  keysPerNode: null,
  replicasPerNode,
});

function row(
  nodes: number,
  partitions: number,
  workload: 'write' | 'read',
  round: number,
  ops: number,
): ScaleRow {
  return scaleRow({
    workload,
    nodes,
    partitions,
    nodeCpu: 0.25,
    round,
    concurrency: 64 * nodes,
    load: load(ops),
    footprint: footprint(nodes === 3 ? 8e6 : 4e6, nodes === 3 ? 16 : 8),
    cpu: { nodesCores: 0.2 * nodes, generatorCores: 0.3, throttledShare: 0.5 },
  });
}

describe('the CPU cgroup arithmetic', () => {
  it('gives a quota of cores × period, refusing what the kernel would', () => {
    expect(CFS_PERIOD_US).toBe(100_000);
    expect(cfsQuotaUs(0.25)).toBe(25_000);
    expect(cfsQuotaUs(1.5)).toBe(150_000);
    expect(cfsQuotaUs(0.333)).toBe(33_300);
    expect(cfsQuotaUs(0.5, 10_000)).toBe(5_000);
    expect(() => cfsQuotaUs(0.005)).toThrow(/500 µs per 100000 µs period, below the kernel's 1 ms minimum/);
    expect(() => cfsQuotaUs(0)).toThrow(/positive number of cores, got 0/);
    expect(() => cfsQuotaUs(Number.NaN)).toThrow(/positive number of cores/);
  });

  it('reads throttling from cpu.stat, in µs', () => {
    const stat = 'nr_periods 120\nnr_throttled 30\nthrottled_time 4500000000\nnr_bursts 0\nburst_time 0\n';
    expect(parseCpuStat(stat)).toEqual({ periods: 120, throttledPeriods: 30, throttledUs: 4_500_000 });
    expect(() => parseCpuStat('nr_periods 1\n')).toThrow(/cpu.stat has no nr_throttled/);
  });

  describe('says why cgroups cannot be used', () => {
    const root = mkdtempSync(join(tmpdir(), 'imdgo-cgroup-'));
    afterAll(() => rmSync(root, { recursive: true, force: true }));

    it('when not root, or when there is no cgroup v1 CPU controller', () => {
      expect(cgroupUnavailable(root, 1000)).toMatch(/needs root/);
      expect(cgroupUnavailable(root, 0)).toMatch(
        /no cgroup v1 CPU controller at .*cpu\.cfs_quota_us is missing/,
      );
      writeFileSync(join(root, 'cpu.cfs_quota_us'), '-1\n');
      expect(cgroupUnavailable(root, 0)).toBeNull();
    });
  });
});

describe('the scale rows', () => {
  it('carry what --json promises, one object per mode, size, workload and round', () => {
    const written = row(6, 16, 'write', 2, 1200);
    expect(written).toEqual({
      kind: 'scale',
      system: 'imdgo',
      workload: 'write',
      consistency: 'linearizable',
      nodes: 6,
      partitions: 16,
      nodeCpu: 0.25,
      round: 2,
      concurrency: 384,
      ops: 12_000,
      errors: 0,
      opsPerSec: 1200,
      p50Ms: 5,
      p99Ms: 20,
      bytesPerNode: 4e6,
      bytesMeasure: 'heap+arraybuffers-growth-after-gc',
      maxBytesPerNode: 4.4e6,
      rssBytesPerNode: 8e6,
      keys: 10_000,
      keysPerNode: null,
      replicasPerNode: 8,
      nodesCpuCores: 0.2 * 6,
      quotaCores: 1.5,
      throttledShare: 0.5,
      generatorCpuCores: 0.3,
      firstError: null,
    });
    expect(JSON.parse(JSON.stringify(written))).toEqual(written);
  });

  it('summarize rounds as median and spread, and compare the largest size with the smallest per mode', () => {
    const rows = [
      ...[100, 120, 110].flatMap((ops, i) => [
        row(3, 1, 'write', i + 1, ops),
        row(6, 1, 'write', i + 1, ops),
      ]),
      ...[100, 90, 110].map((ops, i) => row(3, 16, 'write', i + 1, ops)),
      ...[190, 200, 210].map((ops, i) => row(6, 16, 'write', i + 1, ops)),
    ];
    const summaries = summarize(rows);
    expect(summaries.map((s) => [s.partitions, s.nodes, s.opsPerSec])).toEqual([
      [1, 3, { median: 110, min: 100, max: 120 }],
      [1, 6, { median: 110, min: 100, max: 120 }],
      [16, 3, { median: 100, min: 90, max: 110 }],
      [16, 6, { median: 200, min: 190, max: 210 }],
    ]);
    const ratios = scaleRatios(summaries);
    expect(ratios).toHaveLength(2);
    expect(ratios[0]).toMatchObject({ partitions: 1, fromNodes: 3, toNodes: 6, opsRatio: 1 });
    expect(ratios[1]!.opsRatio).toBe(2);
    expect(ratios[1]!.opsRatioLow).toBeCloseTo(190 / 110);
    expect(ratios[1]!.opsRatioHigh).toBeCloseTo(210 / 90);
    expect(ratios[1]!.bytesPerNodeRatio).toBe(0.5);
    const table = formatSummaries(summaries, ratios);
    expect(table).toContain(
      '16 partition(s), write: 6 vs 3 nodes 2.00x ops/s (rounds paired worst-best 1.73-2.33)',
    );
  });

  it('take the median of an even number of rounds as the mean of the middle two', () => {
    expect(spreadOf([4, 1, 3, 2])).toEqual({ median: 2.5, min: 1, max: 4 });
    expect(() => spreadOf([])).toThrow('no values');
  });
});

describe('the load', () => {
  it('enters through every node in turn', async () => {
    const calls: string[] = [];
    const client = (name: string) => ({
      put: async (key: string) => void calls.push(`${name} put ${key}`),
      get: async (key: string) => void calls.push(`${name} get ${key}`),
    });
    const kv = spreadKv([client('a'), client('b'), client('c')]);
    for (const key of ['k1', 'k2', 'k3', 'k4']) await kv.put(key, 'v');
    await kv.get('k5');
    expect(calls).toEqual(['a put k1', 'b put k2', 'c put k3', 'a put k4', 'b get k5']);
    expect(() => spreadKv([])).toThrow(/at least one client/);
  });

  it("counts a node's keys from its metrics", () => {
    const text =
      '# HELP imdgo_keys Live keys\n# TYPE imdgo_keys gauge\nimdgo_keys 1500\nimdgo_keys_other 7\n';
    expect(sumOfMetric(text, 'imdgo_keys')).toBe(1500);
    const partitions = 'imdgo_partitions{role="leader"} 5\nimdgo_partitions{role="follower"} 11\n';
    expect(sumOfMetric(partitions, 'imdgo_partitions')).toBe(16);
  });
});

describe('--scale', () => {
  it('takes the sizes, the CPU per node and the partition count, with defaults', () => {
    expect(parseOptions(['--scale', '3,6'])).toMatchObject({ scale: [3, 6], nodeCpu: 0.25, partitions: 16 });
    expect(parseOptions(['--scale', '3', '--node-cpu', '0.5', '--partitions', '64'])).toMatchObject({
      scale: [3],
      nodeCpu: 0.5,
      partitions: 64,
    });
    expect(parseOptions([]).scale).toBeNull();
    expect(() => parseOptions(['--scale', '3,x'])).toThrow(/--scale must be a positive integer, got "x"/);
    expect(() => parseOptions(['--scale', '3', '--node-cpu', '0'])).toThrow(
      /--node-cpu must be from 0.01 to/,
    );
  });
});
