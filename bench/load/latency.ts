import { build, type Histogram } from 'hdr-histogram-js';

/** What a load run reports: throughput and latency percentiles over the measured window only. */
export interface LoadSummary {
  readonly ops: number;
  readonly errors: number;
  readonly elapsedMs: number;
  readonly opsPerSec: number;
  /** Null when no operation succeeded. */
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly maxMs: number | null;
  readonly meanMs: number | null;
  /** The first error's message, so a run that only failed says why. */
  readonly firstError: string | null;
}

/**
 * Latencies in nanoseconds in an HDR histogram: constant memory and O(1) recording at millions of ops/s,
 * percentiles to 3 significant digits. A sorted array of samples would hold tens of millions of numbers
 * for the local-read runs and cost a sort at the end.
 */
export class Latencies {
  private readonly histogram: Histogram = build({ numberOfSignificantValueDigits: 3 });
  private errorCount = 0;
  private firstError: string | null = null;

  record(ms: number, count = 1): void {
    this.histogram.recordValueWithCount(Math.max(1, Math.round(ms * 1e6)), count);
  }

  error(error: unknown): void {
    this.errorCount++;
    this.firstError ??= error instanceof Error ? error.message : String(error);
  }

  summarize(elapsedMs: number): LoadSummary {
    const h = this.histogram;
    const ops = h.totalCount;
    return {
      ops,
      errors: this.errorCount,
      elapsedMs,
      opsPerSec: elapsedMs > 0 ? (ops * 1000) / elapsedMs : 0,
      p50Ms: ops > 0 ? h.getValueAtPercentile(50) / 1e6 : null,
      p99Ms: ops > 0 ? h.getValueAtPercentile(99) / 1e6 : null,
      maxMs: ops > 0 ? h.maxValue / 1e6 : null,
      meanMs: ops > 0 ? h.mean / 1e6 : null,
      firstError: this.firstError,
    };
  }
}
