/**
 * The commands of a forwarded batch as one binary block on the wire, instead of one msgpack binary each:
 * decoding a binary cost the leader a copy and an object per command, and the block's commands are views
 * of its one copy. Layout per command: length (uint32 BE), bytes. Each command is parsed by the leader
 * before it is proposed, as any forwarded write.
 */
const LENGTH_BYTES = 4;

export function packCommands(commands: readonly Uint8Array[]): Uint8Array {
  let bytes = 0;
  for (const command of commands) bytes += LENGTH_BYTES + command.byteLength;
  const block = new Uint8Array(bytes);
  const view = new DataView(block.buffer);
  let at = 0;
  for (const command of commands) {
    view.setUint32(at, command.byteLength);
    block.set(command, at + LENGTH_BYTES);
    at += LENGTH_BYTES + command.byteLength;
  }
  return block;
}

/** The commands of a block, or null when it is no block of at least one command (a peer's bytes are untrusted). */
export function unpackCommands(block: Uint8Array): Uint8Array[] | null {
  const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
  const commands: Uint8Array[] = [];
  let at = 0;
  while (at < block.byteLength) {
    if (block.byteLength - at < LENGTH_BYTES) return null;
    const start = at + LENGTH_BYTES;
    const end = start + view.getUint32(at);
    if (end > block.byteLength) return null;
    commands.push(block.subarray(start, end));
    at = end;
  }
  return commands.length > 0 ? commands : null;
}
