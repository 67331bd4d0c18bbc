import type { Entry, Message } from '../raft/types.ts';
import { isPeerId } from '../transport/peer-address.ts';

/** Far above any real cluster, low enough that no frame can make a node track absurd configurations. */
const MAX_MEMBERS = 1024;
const MAX_INCARNATION_LENGTH = 256;

/**
 * Peer frames are untrusted input: only well-formed Raft messages reach the core (whose assertions would
 * otherwise turn a malformed frame into a crash). Returns null for anything else.
 *
 * Well-formed means: member ids are `host:port`, indexes and terms are safe non-negative integers, no
 * term exceeds the message's own (a sender's log is never newer than its term), appended entries are
 * contiguous after `prevIndex` with non-decreasing terms, carry binary data, and their configurations
 * decode; snapshot configurations have voters, no duplicates and a bounded size. What depends on the
 * receiver's state (a stale term, an index past its log) is the core's to judge.
 */
export function toRaftMessage(value: unknown): Message | null {
  if (!isRecord(value)) return null;
  const m = value;
  if (!isPeerId(m.from) || !isPeerId(m.to) || !isIndex(m.term)) return null;
  return isWellFormed(m, m.term) ? (m as unknown as Message) : null;
}

function isWellFormed(m: Record<string, unknown>, term: number): boolean {
  switch (m.type) {
    case 'append':
      return (
        isIndex(m.prevIndex) &&
        isTermUpTo(m.prevTerm, term) &&
        isIndex(m.commit) &&
        isOptionalContact(m.contact) &&
        isEntries(m.entries, m.prevIndex, m.prevTerm as number, term)
      );
    case 'append-response':
      return (
        typeof m.success === 'boolean' &&
        isIndex(m.index) &&
        isIndex(m.hintIndex) &&
        isIndex(m.hintTerm) &&
        isSenderIncarnation(m)
      );
    case 'heartbeat':
      return (
        isIndex(m.commit) &&
        isIndex(m.readRound) &&
        (m.quiesce === undefined || m.quiesce === true) &&
        isOptionalContact(m.contact)
      );
    case 'heartbeat-response':
      return isIndex(m.readRound) && isIndex(m.commit) && isSenderIncarnation(m);
    case 'vote':
    case 'pre-vote':
      return (
        isIndex(m.lastIndex) &&
        isTermUpTo(m.lastTerm, term) &&
        typeof m.transfer === 'boolean' &&
        isOptionalIncarnation(m.seat)
      );
    case 'vote-response':
    case 'pre-vote-response':
      return typeof m.granted === 'boolean' && isSenderIncarnation(m);
    case 'timeout-now':
      return true;
    case 'probe':
      return isIndex(m.round) && isIncarnation(m.incarnation);
    case 'read-index':
      return isIndex(m.requestId) && isIndex(m.nonce);
    case 'read-index-response':
      return isIndex(m.requestId) && isIndex(m.nonce) && isIndex(m.index);
    case 'snapshot':
      return isSnapshotMeta(m.snapshot, term);
    case 'probe-response':
      return (
        isIndex(m.round) &&
        typeof m.fresh === 'boolean' &&
        (m.leader === null || isPeerId(m.leader)) &&
        isOptionalIncarnation(m.incarnation) &&
        isIncarnation(m.prober)
      );
    case 'join':
      return isIncarnation(m.incarnation) && isIndex(m.round);
    default:
      return false;
  }
}

function isEntries(value: unknown, prevIndex: number, prevTerm: number, term: number): value is Entry[] {
  if (!Array.isArray(value)) return false;
  let lastTerm = prevTerm;
  for (let i = 0; i < value.length; i++) {
    const e: unknown = value[i];
    if (!isRecord(e) || e.index !== prevIndex + i + 1 || !isIndex(e.index)) return false;
    if (!isTermUpTo(e.term, term) || e.term < lastTerm || !(e.data instanceof Uint8Array)) return false;
    lastTerm = e.term;
    if (e.kind === 'config') {
      if (!isConfig(decodeJson(e.data))) return false;
    } else if (e.kind !== 'command' && e.kind !== 'noop') {
      return false;
    }
  }
  return true;
}

function isSnapshotMeta(value: unknown, term: number): boolean {
  return isRecord(value) && isIndex(value.index) && isTermUpTo(value.term, term) && isConfig(value.config);
}

/** A ClusterConfig: at least one voter, no member twice (across both lists), incarnations of members. */
function isConfig(value: unknown): boolean {
  if (!isRecord(value) || !isIdList(value.voters) || !isIdList(value.learners)) return false;
  const members = [...value.voters, ...value.learners];
  if (value.voters.length === 0 || members.length > MAX_MEMBERS || new Set(members).size !== members.length) {
    return false;
  }
  const { incarnations } = value;
  if (incarnations === undefined) return true;
  return (
    isRecord(incarnations) &&
    Object.entries(incarnations).every(
      ([id, incarnation]) => members.includes(id) && isIncarnation(incarnation),
    )
  );
}

/** How the core encodes configurations (raft/membership.ts); anything else is not one. */
function decodeJson(data: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data));
  } catch {
    return undefined;
  }
}

function isIdList(value: unknown): value is string[] {
  return Array.isArray(value) && value.length <= MAX_MEMBERS && value.every(isPeerId);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isIndex(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isTermUpTo(value: unknown, term: number): value is number {
  return isIndex(value) && value <= term;
}

/** A process incarnation (discovery.ts): a short non-empty string. */
function isIncarnation(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_INCARNATION_LENGTH;
}

function isOptionalIncarnation(value: unknown): boolean {
  return value === undefined || isIncarnation(value);
}

/** A response's sender (raft/types.ts SenderIncarnation): a contact round only beside an incarnation. */
function isSenderIncarnation(m: Record<string, unknown>): boolean {
  if (m.contact === undefined) return isOptionalIncarnation(m.incarnation);
  return isIndex(m.contact) && isIncarnation(m.incarnation);
}

function isOptionalContact(value: unknown): boolean {
  return value === undefined || isIndex(value);
}
