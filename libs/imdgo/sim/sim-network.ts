import type { SeededRandom } from '../src/raft/random.ts';

/** Per-seed network behaviour, drawn by the seed itself (swarm testing: each run stresses a different mix). */
export interface NetworkFaults {
  readonly lossRate: number;
  readonly duplicateRate: number;
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
  /** Chance that a message takes a long detour, overtaking and being overtaken by others. */
  readonly longDelayRate: number;
  readonly longDelayMaxMs: number;
}

export function drawNetworkFaults(random: SeededRandom): NetworkFaults {
  const maxDelayMs = 2 + random.int(30);
  return {
    lossRate: random.chance(0.5) ? 0 : random.next() * 0.15,
    duplicateRate: random.chance(0.5) ? 0 : random.next() * 0.05,
    minDelayMs: 1,
    maxDelayMs,
    longDelayRate: random.chance(0.5) ? 0 : random.next() * 0.05,
    longDelayMaxMs: 50 + random.int(450),
  };
}

const link = (from: string, to: string): string => `${from}>${to}`;

/**
 * Decides when (and whether) each message arrives. Partitions drop; a clogged link holds its messages and
 * releases them, late and in random order, when unclogged.
 */
export class SimNetwork<M> {
  private readonly blocked = new Set<string>();
  private readonly clogged = new Map<string, M[]>();
  private readonly random: SeededRandom;
  readonly faults: NetworkFaults;
  dropped = 0;
  duplicated = 0;

  constructor(random: SeededRandom, faults: NetworkFaults) {
    this.random = random;
    this.faults = faults;
  }

  /** Delivery delays in ms for one message: none when lost, two when duplicated. */
  route(from: string, to: string, message: M): number[] {
    if (this.blocked.has(link(from, to))) {
      this.dropped++;
      return [];
    }
    const held = this.clogged.get(link(from, to));
    if (held) {
      held.push(message);
      return [];
    }
    if (this.random.chance(this.faults.lossRate)) {
      this.dropped++;
      return [];
    }
    const delays = [this.delay()];
    if (this.random.chance(this.faults.duplicateRate)) {
      this.duplicated++;
      delays.push(this.delay());
    }
    return delays;
  }

  delay(): number {
    const f = this.faults;
    if (this.random.chance(f.longDelayRate)) return f.minDelayMs + this.random.int(f.longDelayMaxMs);
    return f.minDelayMs + this.random.int(f.maxDelayMs - f.minDelayMs + 1);
  }

  /** Cuts every link between the two groups, both ways. */
  partition(groupA: readonly string[], groupB: readonly string[]): void {
    for (const a of groupA) {
      for (const b of groupB) {
        this.blocked.add(link(a, b));
        this.blocked.add(link(b, a));
      }
    }
  }

  /** Cuts one direction only: `from` can no longer reach `to`, the reverse still works. */
  blockOneWay(from: string, to: string): void {
    this.blocked.add(link(from, to));
  }

  /** Restores every link of `node`, whichever fault cut it. */
  reconnect(node: string): void {
    for (const key of this.blocked) {
      const [from, to] = key.split('>');
      if (from === node || to === node) this.blocked.delete(key);
    }
  }

  clog(from: string, to: string): void {
    if (!this.clogged.has(link(from, to))) this.clogged.set(link(from, to), []);
  }

  /** Returns the held messages of a random clogged link, now free to travel, or null if none is clogged. */
  unclogOne(): { from: string; to: string; messages: M[] } | null {
    const links = [...this.clogged.keys()];
    if (links.length === 0) return null;
    const chosen = this.random.pick(links);
    const messages = this.clogged.get(chosen)!;
    this.clogged.delete(chosen);
    const [from, to] = chosen.split('>') as [string, string];
    return { from, to, messages };
  }

  isClogged(): boolean {
    return this.clogged.size > 0;
  }

  heal(): void {
    this.blocked.clear();
  }
}
