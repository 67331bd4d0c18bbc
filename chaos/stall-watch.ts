import type { ChaosCluster } from './cluster.ts';

const CHECK_MS = 100;

/** What the watch asks of the cluster. */
export type WatchedCluster = Pick<ChaosCluster, 'majorityConnected' | 'checkAdmissions'>;

/**
 * Fails the run when the cluster stalls: a majority of the members has been up and connected for longer
 * than `limitMs` and no operation got an answer in that time. `lastAnswerAt` says when the load last got
 * one. The limit must cover a client's own timeout: a client stuck on a paused or cut-off node answers
 * nothing until it gives up.
 */
export class StallWatch {
  readonly stalls: string[] = [];
  private readonly cluster: WatchedCluster;
  private readonly lastAnswerAt: () => number;
  private readonly limitMs: number;
  private timer: NodeJS.Timeout | undefined;
  private checking = false;
  private connectedSince: number | null = null;
  /** The start of the quiet spell last reported, so that one stall is reported once. */
  private reportedSince: number | null = null;

  constructor(cluster: WatchedCluster, lastAnswerAt: () => number, limitMs: number) {
    this.cluster = cluster;
    this.lastAnswerAt = lastAnswerAt;
    this.limitMs = limitMs;
  }

  start(): void {
    this.timer = setInterval(() => {
      if (this.checking) return;
      this.checking = true;
      void this.cluster
        .checkAdmissions()
        .then(() => this.check(Date.now()))
        .finally(() => (this.checking = false));
    }, CHECK_MS);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private check(now: number): void {
    if (!this.cluster.majorityConnected()) {
      this.connectedSince = null;
      return;
    }
    this.connectedSince ??= now;
    const quietSince = Math.max(this.connectedSince, this.lastAnswerAt());
    if (now - quietSince > this.limitMs && quietSince !== this.reportedSince) {
      this.reportedSince = quietSince;
      this.stalls.push(
        `stall: a majority was up and connected, and no operation was answered for ${now - quietSince} ms (limit ${this.limitMs} ms)`,
      );
    }
  }
}
