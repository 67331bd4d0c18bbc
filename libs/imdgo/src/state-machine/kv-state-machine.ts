import { isDeepStrictEqual } from 'node:util';
import type { Entry } from '../raft/types.ts';
import { decodeCommand, type CommandResult, type KvCommand } from './commands.ts';
import { SessionTable } from './session-table.ts';

export interface AppliedCommand {
  readonly index: number;
  /** Null for no-op entries and for duplicates or stale retries that changed nothing. */
  readonly result: CommandResult | null;
  /** The remembered result of a duplicate, so its caller still gets an answer. */
  readonly duplicateOf: CommandResult | null;
}

/** The replicated key-value map: deterministic, so every node that applies the same log holds the same data. */
export class KvStateMachine {
  private readonly data = new Map<string, unknown>();
  private readonly sessions = new SessionTable();
  appliedIndex = 0;

  get(key: string): unknown {
    return this.data.get(key);
  }

  has(key: string): boolean {
    return this.data.has(key);
  }

  get size(): number {
    return this.data.size;
  }

  entries(): IterableIterator<[string, unknown]> {
    return this.data.entries();
  }

  apply(entry: Entry): AppliedCommand {
    if (entry.index !== this.appliedIndex + 1) {
      throw new Error(`apply out of order: index ${entry.index} after ${this.appliedIndex}`);
    }
    this.appliedIndex = entry.index;
    if (entry.kind !== 'command') return { index: entry.index, result: null, duplicateOf: null };
    const { session, command } = decodeCommand(entry.data);
    if (session) {
      const seen = this.sessions.lookup(session);
      if (seen === 'stale') return { index: entry.index, result: null, duplicateOf: null };
      if (seen) return { index: entry.index, result: null, duplicateOf: seen };
    }
    const result = this.execute(command, entry.index);
    if (session) this.sessions.record(session, result);
    return { index: entry.index, result, duplicateOf: null };
  }

  private execute(command: KvCommand, revision: number): CommandResult {
    const previous = this.data.get(command.key);
    switch (command.op) {
      case 'set':
        this.data.set(command.key, command.value);
        return { op: 'set', revision, previous };
      case 'delete':
        return { op: 'delete', revision, deleted: this.data.delete(command.key), previous };
      case 'cas': {
        const ok = isDeepStrictEqual(previous ?? null, command.expected ?? null);
        if (ok) this.data.set(command.key, command.value);
        return { op: 'cas', revision, ok, current: ok ? command.value : previous };
      }
    }
  }
}
