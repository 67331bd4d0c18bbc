import type { Entry, HardState, Message, NodeId, Ready } from '../raft/types.ts';

/** What this node's storage holds durably: the hard state's term and vote, and the last log index. */
export interface DurablePoint {
  readonly term: number;
  readonly vote: NodeId | null;
  readonly lastIndex: number;
}

/** What of a Ready may go out while its own entries and hard state are still being written. */
export interface AheadOfDisk {
  readonly messages: readonly Message[];
  readonly laterMessages: readonly Message[];
  /** A prefix of the Ready's committed entries. */
  readonly committed: readonly Entry[];
  readonly laterCommitted: readonly Entry[];
}

/**
 * Splits a Ready into what does not depend on its own write and what does (Raft dissertation §10.2.1: the
 * leader writes its log in parallel with replicating it). A leader's appends and heartbeats may leave
 * first when they claim nothing this Ready makes true: their term and vote are durable already, and the
 * commit index they carry is covered by durable entries (a single voter commits its own unwritten entries,
 * and a learner must not apply one that a crash then loses). A follower's answers always wait: acknowledging
 * an entry promises it is stored. Committed entries already durable here may be applied first too; a
 * snapshot in the Ready orders everything after it.
 */
export function aheadOfDisk(
  ready: Pick<Ready, 'hardState' | 'messages' | 'committedEntries' | 'snapshot'>,
  durable: DurablePoint,
): AheadOfDisk {
  if (ready.snapshot || !keepsTermAndVote(ready.hardState, durable)) {
    return {
      messages: [],
      laterMessages: ready.messages,
      committed: [],
      laterCommitted: ready.committedEntries,
    };
  }
  const messages: Message[] = [];
  const laterMessages: Message[] = [];
  for (const message of ready.messages) {
    const early =
      (message.type === 'append' || message.type === 'heartbeat') && message.commit <= durable.lastIndex;
    (early ? messages : laterMessages).push(message);
  }
  const entries = ready.committedEntries;
  let durableCount = 0;
  while (durableCount < entries.length && entries[durableCount]!.index <= durable.lastIndex) durableCount++;
  return {
    messages,
    laterMessages,
    committed: entries.slice(0, durableCount),
    laterCommitted: entries.slice(durableCount),
  };
}

function keepsTermAndVote(hardState: HardState | null, durable: DurablePoint): boolean {
  return hardState === null || (hardState.term === durable.term && hardState.vote === durable.vote);
}

/** The durable point once `ready` is written. */
export function afterWrite(
  durable: DurablePoint,
  ready: Pick<Ready, 'hardState' | 'entries' | 'snapshot'>,
): DurablePoint {
  const last = ready.entries[ready.entries.length - 1];
  // Entries replace the log from their first index, so the last one written is the new end, even if lower.
  const lastIndex = last ? last.index : ready.snapshot ? ready.snapshot.index : durable.lastIndex;
  const hardState = ready.hardState;
  return hardState ? { term: hardState.term, vote: hardState.vote, lastIndex } : { ...durable, lastIndex };
}
