import type { Entry, MessageType } from '../raft/types.ts';
import { packEntries, unpackEntries } from './entry-block.ts';
import { fromLayout, toLayout, type Layout } from './wire-layout.ts';

/**
 * Raft messages as they travel: each `[type code, group, from, to, term, ...its fields]` (wire-layout.ts),
 * an append's entries as one block (entry-block.ts). `group` is the multiplexer's tag (group-mux.ts),
 * absent for group 0. What the fields hold is checked by the receiver's wire validation, as before.
 */
const COMMON = ['group', 'from', 'to', 'term'];
const INCARNATION = ['incarnation', 'contact'];
const FIELDS: [MessageType, Layout][] = [
  ['append', ['prevIndex', 'prevTerm', 'entries', 'commit', 'contact']],
  ['append-response', ['success', 'index', 'hintIndex', 'hintTerm', ...INCARNATION]],
  ['heartbeat', ['commit', 'readRound', 'quiesce', 'contact']],
  ['heartbeat-response', ['readRound', 'commit', ...INCARNATION]],
  ['vote', ['lastIndex', 'lastTerm', 'transfer', 'seat']],
  ['pre-vote', ['lastIndex', 'lastTerm', 'transfer', 'seat']],
  ['vote-response', ['granted', ...INCARNATION]],
  ['pre-vote-response', ['granted', ...INCARNATION]],
  ['timeout-now', []],
  ['read-index', ['requestId', 'nonce']],
  ['read-index-response', ['requestId', 'nonce', 'index']],
  ['snapshot', ['snapshot']],
  ['probe', ['round', 'incarnation']],
  ['probe-response', ['round', 'fresh', 'leader', 'incarnation', 'prober']],
  ['join', ['incarnation', 'round']],
];
const TYPES = FIELDS.map(([type]) => type);
const LAYOUTS = FIELDS.map(([, fields]) => [...COMMON, ...fields]);
const CODES = new Map(TYPES.map((type, code) => [type, code]));

/** The frame of a list of messages; anything else (and a message of no known shape) travels as it is. */
export function messagesToWire(messages: unknown): unknown {
  if (!Array.isArray(messages)) return messages;
  return messages.map((message: unknown) => {
    if (typeof message !== 'object' || message === null) return message;
    const m = message as Record<string, unknown>;
    const code = CODES.get(m.type as MessageType);
    if (code === undefined) return message;
    const wire = toLayout(code, LAYOUTS[code]!, m, 'type');
    if (wire === null) return message;
    if (m.type === 'append' && Array.isArray(m.entries) && m.entries.length > 0) {
      wire[COMMON.length + 3] = packEntries(m.entries as Entry[]);
    }
    return wire;
  });
}

/** Undoes `messagesToWire`; throws on a positional message of no known type or shape, or a bad block. */
export function messagesFromWire(frame: unknown): unknown {
  if (!Array.isArray(frame)) return frame;
  return frame.map((wire: unknown) => {
    if (!Array.isArray(wire)) return wire;
    const code: unknown = wire[0];
    const type = typeof code === 'number' ? TYPES[code] : undefined;
    const message = type === undefined ? null : fromLayout(LAYOUTS[code as number]!, wire);
    if (message === null) throw new Error('malformed positional Raft message');
    message.type = type;
    if (type === 'append' && message.entries instanceof Uint8Array) {
      const entries = unpackEntries(message.entries);
      if (entries === null) throw new Error('malformed entry block');
      message.entries = entries;
    }
    return message;
  });
}
