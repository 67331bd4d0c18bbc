import { assert } from './assert.ts';
import type { ClusterConfig, ConfigChange, Entry, NodeId } from './types.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeConfig(config: ClusterConfig): Uint8Array {
  return encoder.encode(JSON.stringify(config));
}

export function decodeConfig(data: Uint8Array): ClusterConfig {
  return JSON.parse(decoder.decode(data)) as ClusterConfig;
}

export function isMember(config: ClusterConfig, id: NodeId): boolean {
  return config.voters.includes(id) || config.learners.includes(id);
}

/** A configuration change as it may arrive from a peer: checked before it can reach the log. */
export function isConfigChange(value: unknown): value is ConfigChange {
  if (typeof value !== 'object' || value === null) return false;
  const change = value as Record<string, unknown>;
  const types: readonly unknown[] = ['add-learner', 'promote', 'remove'];
  return (
    types.includes(change.type) &&
    typeof change.id === 'string' &&
    (change.incarnation === undefined || typeof change.incarnation === 'string')
  );
}

/** The configuration after `change`, or the reason it is not allowed. */
export function changeConfig(config: ClusterConfig, change: ConfigChange): ClusterConfig | string {
  const { id } = change;
  switch (change.type) {
    case 'add-learner': {
      if (isMember(config, id)) return `${id} is already a member`;
      const incarnations = change.incarnation
        ? { ...config.incarnations, [id]: change.incarnation }
        : config.incarnations;
      return { ...config, learners: [...config.learners, id], incarnations };
    }
    case 'promote':
      if (!config.learners.includes(id)) return `${id} is not a learner`;
      return { ...config, voters: [...config.voters, id], learners: config.learners.filter((l) => l !== id) };
    case 'remove': {
      if (!isMember(config, id)) return `${id} is not a member`;
      if (config.voters.length === 1 && config.voters[0] === id) return `cannot remove the last voter ${id}`;
      const incarnations = { ...config.incarnations };
      delete incarnations[id];
      return {
        voters: config.voters.filter((v) => v !== id),
        learners: config.learners.filter((l) => l !== id),
        incarnations,
      };
    }
    default:
      return `unknown configuration change ${String((change as { type: unknown }).type)}`;
  }
}

/**
 * The configuration in effect: the newest one in the log, committed or not (Raft dissertation §4.1). Keeps
 * the configuration entries after the log's offset, so a truncated one is rolled back to its predecessor.
 */
export class MembershipTracker {
  private base: { index: number; config: ClusterConfig };
  private readonly logged: { index: number; term: number; config: ClusterConfig }[] = [];

  constructor(initial: ClusterConfig, atIndex: number) {
    this.base = { index: atIndex, config: initial };
  }

  get current(): ClusterConfig {
    return this.logged[this.logged.length - 1]?.config ?? this.base.config;
  }

  /** Index of the entry that set the current configuration (the base index when none is in the log). */
  get currentIndex(): number {
    return this.logged[this.logged.length - 1]?.index ?? this.base.index;
  }

  configAt(index: number): ClusterConfig {
    for (let i = this.logged.length - 1; i >= 0; i--)
      if (this.logged[i]!.index <= index) return this.logged[i]!.config;
    return this.base.config;
  }

  /** Records a configuration entry that has just been appended. */
  onAppended(entry: Entry): void {
    if (entry.kind !== 'config') return;
    assert(entry.index > this.currentIndex, `config entry ${entry.index} before ${this.currentIndex}`);
    this.logged.push({ index: entry.index, term: entry.term, config: decodeConfig(entry.data) });
  }

  /** Forgets configuration entries the log no longer holds (a follower truncated a conflicting tail). */
  onTruncated(termAt: (index: number) => number): void {
    while (this.logged.length > 0) {
      const last = this.logged[this.logged.length - 1]!;
      if (termAt(last.index) === last.term) break;
      this.logged.pop();
    }
  }

  compact(index: number): void {
    this.base = { index, config: this.configAt(index) };
    while (this.logged.length > 0 && this.logged[0]!.index <= index) this.logged.shift();
  }

  restore(index: number, config: ClusterConfig): void {
    this.base = { index, config };
    this.logged.length = 0;
  }
}
