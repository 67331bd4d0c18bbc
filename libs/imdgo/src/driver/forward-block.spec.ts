import { describe, expect, it } from 'vitest';
import { FRAME_HEADER_BYTES, packFrame, unpackBody } from '../transport/msgpack-codec.ts';
import { packCommands, unpackCommands } from './forward-block.ts';

const commands = [Uint8Array.of(0x96, 1, 2), new Uint8Array(), Uint8Array.of(7)];

describe('forwarded command blocks', () => {
  it('carry the commands across the wire as they were, as views of one copy', () => {
    const block = unpackBody(packFrame(packCommands(commands)).subarray(FRAME_HEADER_BYTES));
    const unpacked = unpackCommands(block as Uint8Array)!;
    expect(unpacked).toStrictEqual(commands);
    expect(unpacked[0]!.buffer).toBe(unpacked[2]!.buffer);
  });

  it('refuse a block cut short, a length past its end, or no command at all', () => {
    const block = packCommands(commands);
    expect(unpackCommands(block.subarray(0, block.byteLength - 1))).toBeNull();
    expect(unpackCommands(block.subarray(0, 2))).toBeNull();
    expect(unpackCommands(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 1))).toBeNull();
    expect(unpackCommands(new Uint8Array())).toBeNull();
  });
});
