import type { Entry, EntryKind } from '../raft/types.ts';

/**
 * The entries of an append message as one binary block on the wire, instead of one msgpack record per
 * entry: packing and unpacking a record per entry cost the leader more than a microsecond per entry and
 * peer, and each follower twice that (a copy of every entry's data). The block is packed once for all
 * the peers that get the same entries, and the entries unpacked from it are views of its one copy.
 *
 * Layout per entry: index and term (float64 BE), kind (one byte), data length (uint32 BE), data.
 * What the entries say is checked by the receiver's wire validation, as for any message.
 */
const HEADER_BYTES = 21;
const KINDS: readonly EntryKind[] = ['command', 'noop', 'config'];
const KIND_CODES = new Map(KINDS.map((kind, code) => [kind, code]));

/** The last entries packed: the messages of one Ready to several followers share the log's entry objects. */
let last: { entries: readonly Entry[]; block: Uint8Array } | null = null;

export function packEntries(entries: readonly Entry[]): Uint8Array {
  if (last !== null && sameEntries(last.entries, entries)) return last.block;
  let bytes = 0;
  for (const entry of entries) bytes += HEADER_BYTES + entry.data.byteLength;
  const block = new Uint8Array(bytes);
  const view = new DataView(block.buffer);
  let at = 0;
  for (const entry of entries) {
    view.setFloat64(at, entry.index);
    view.setFloat64(at + 8, entry.term);
    block[at + 16] = KIND_CODES.get(entry.kind)!;
    view.setUint32(at + 17, entry.data.byteLength);
    block.set(entry.data, at + HEADER_BYTES);
    at += HEADER_BYTES + entry.data.byteLength;
  }
  last = { entries, block };
  return block;
}

function sameEntries(a: readonly Entry[], b: readonly Entry[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The entries of a block, or null when it is not one (a peer's bytes are untrusted). */
export function unpackEntries(block: Uint8Array): Entry[] | null {
  const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
  const entries: Entry[] = [];
  let at = 0;
  while (at < block.byteLength) {
    if (block.byteLength - at < HEADER_BYTES) return null;
    const kind = KINDS[block[at + 16]!];
    const length = view.getUint32(at + 17);
    const start = at + HEADER_BYTES;
    if (kind === undefined || block.byteLength - start < length) return null;
    entries.push({
      index: view.getFloat64(at),
      term: view.getFloat64(at + 8),
      kind,
      // A Buffer: the apply decodes it without a Buffer view of its own (parseCommand).
      data: Buffer.from(block.buffer, block.byteOffset + start, length),
    });
    at = start + length;
  }
  return entries;
}
