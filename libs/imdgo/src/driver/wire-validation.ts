import type { Entry, Message } from '../raft/types.ts';

/**
 * Peer frames are untrusted input: only well-formed Raft messages reach the core (whose assertions would
 * otherwise turn a malformed frame into a crash). Returns null for anything else.
 */
export function toRaftMessage(value: unknown): Message | null {
  if (typeof value !== 'object' || value === null) return null;
  const m = value as Record<string, unknown>;
  if (typeof m.from !== 'string' || typeof m.to !== 'string' || !isIndex(m.term)) return null;
  switch (m.type) {
    case 'append':
      return isIndex(m.prevIndex) &&
        isIndex(m.prevTerm) &&
        isIndex(m.commit) &&
        isEntries(m.entries, m.prevIndex)
        ? (m as unknown as Message)
        : null;
    case 'append-response':
      return typeof m.success === 'boolean' && isIndex(m.index) && isIndex(m.hintIndex) && isIndex(m.hintTerm)
        ? (m as unknown as Message)
        : null;
    case 'heartbeat':
      return isIndex(m.commit) && isIndex(m.readRound) ? (m as unknown as Message) : null;
    case 'heartbeat-response':
      return isIndex(m.readRound) ? (m as unknown as Message) : null;
    case 'vote':
    case 'pre-vote':
      return isIndex(m.lastIndex) && isIndex(m.lastTerm) && typeof m.transfer === 'boolean'
        ? (m as unknown as Message)
        : null;
    case 'vote-response':
    case 'pre-vote-response':
      return typeof m.granted === 'boolean' ? (m as unknown as Message) : null;
    case 'timeout-now':
      return m as unknown as Message;
    case 'read-index':
      return isIndex(m.requestId) ? (m as unknown as Message) : null;
    case 'read-index-response':
      return isIndex(m.requestId) && isIndex(m.index) ? (m as unknown as Message) : null;
    case 'snapshot':
      return isSnapshotMeta(m.snapshot) ? (m as unknown as Message) : null;
    case 'probe':
      return m as unknown as Message;
    case 'probe-response':
      return typeof m.fresh === 'boolean' && (m.leader === null || typeof m.leader === 'string')
        ? (m as unknown as Message)
        : null;
    case 'join':
      return typeof m.incarnation === 'string' ? (m as unknown as Message) : null;
    default:
      return null;
  }
}

function isSnapshotMeta(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const s = value as Record<string, unknown>;
  const config = s.config as Record<string, unknown> | null;
  return (
    isIndex(s.index) &&
    isIndex(s.term) &&
    typeof config === 'object' &&
    config !== null &&
    isIdList(config.voters) &&
    isIdList(config.learners)
  );
}

function isIdList(value: unknown): boolean {
  return Array.isArray(value) && value.every((id) => typeof id === 'string');
}

function isIndex(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isEntries(value: unknown, prevIndex: number): value is Entry[] {
  if (!Array.isArray(value)) return false;
  for (let i = 0; i < value.length; i++) {
    const e = value[i] as Record<string, unknown> | null;
    if (typeof e !== 'object' || e === null) return false;
    if (e.index !== prevIndex + i + 1 || !isIndex(e.term) || !(e.data instanceof Uint8Array)) return false;
    if (e.kind !== 'command' && e.kind !== 'noop' && e.kind !== 'config') return false;
  }
  return true;
}
