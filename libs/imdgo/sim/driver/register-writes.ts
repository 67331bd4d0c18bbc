import type { ImdgoHistoryEvent } from '../../src/checker/index.ts';
import type { SeededRandom } from '../../src/raft/random.ts';
import type { KvCommand } from '../../src/state-machine/commands.ts';

/** The register writes the linearizability checker reads: each is a set or a compare-and-set for it. */
export type RegisterWriteKind = 'set' | 'delete' | 'cas' | 'put-if-absent';

/** A write's operation as the checker's history records it, and the command that carries it out. */
export interface RegisterWrite {
  readonly op: Pick<ImdgoHistoryEvent, 'f' | 'key' | 'value'>;
  readonly command: KvCommand & { key: string };
}

/** How many of a key's newest values a compare-and-set picks its expected value from. */
const RECENT = 4;

/** Values no write used before (so the checker tells writes apart), and each key's newest ones. */
export class RegisterValues {
  private next = 1;
  private readonly recent = new Map<string, unknown[]>();

  /** A value never written before, to any key. */
  unique(): number {
    return this.next++;
  }

  /** A value never written before, remembered as `key`'s newest. */
  fresh(key: string): number {
    const value = this.unique();
    this.remember(key, value);
    return value;
  }

  remember(key: string, value: unknown): void {
    const recent = this.recent.get(key) ?? [];
    recent.push(value);
    if (recent.length > RECENT) recent.shift();
    this.recent.set(key, recent);
  }

  /** What a compare-and-set of `key` expects: mostly one of its newest values, else absent (null). */
  expected(key: string, random: SeededRandom): unknown {
    const options = this.recent.get(key) ?? [];
    return options.length === 0 || random.chance(0.2) ? null : random.pick(options);
  }

  /** One register write of `kind` on `key`, with a fresh value. */
  write(kind: RegisterWriteKind, key: string, random: SeededRandom): RegisterWrite {
    switch (kind) {
      case 'set': {
        const value = this.fresh(key);
        return { op: { f: 'set', key, value }, command: { op: 'set', key, value } };
      }
      case 'delete':
        return { op: { f: 'delete', key }, command: { op: 'delete', key } };
      case 'cas': {
        const expected = this.expected(key, random);
        const value = this.fresh(key);
        return {
          op: { f: 'cas', key, value: [expected, value] },
          command: { op: 'cas', key, expected, value },
        };
      }
      case 'put-if-absent': {
        // putIfAbsent is a compare-and-set from absent (no value written is ever null).
        const value = this.fresh(key);
        return {
          op: { f: 'cas', key, value: [null, value] },
          command: { op: 'set', key, value, ifAbsent: true },
        };
      }
    }
  }
}
