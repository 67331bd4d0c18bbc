import { describe, expect, it } from 'vitest';
import { frameRecord, RECORD_HEADER_BYTES, scanRecords } from './record-file.ts';

const MAX = 1024;
const record = (text: string): Buffer => frameRecord(Buffer.from(text));
const texts = (payloads: Buffer[]): string[] => payloads.map((p) => p.toString());

describe('scanRecords', () => {
  it('reads back every record of a complete file', () => {
    const scan = scanRecords(Buffer.concat([record('one'), record('two')]), MAX);
    expect(scan.kind).toBe('complete');
    expect(scan.kind === 'complete' && texts(scan.payloads)).toEqual(['one', 'two']);
  });

  it('calls a record cut short by the end of the file torn', () => {
    const whole = Buffer.concat([record('one'), record('two')]);
    const scan = scanRecords(whole.subarray(0, whole.length - 2), MAX);
    expect(scan).toMatchObject({ kind: 'torn', validBytes: record('one').length });
  });

  it('calls a zero-filled tail torn: the size of a write landed before its data', () => {
    const valid = Buffer.concat([record('one'), record('two')]);
    const scan = scanRecords(Buffer.concat([valid, Buffer.alloc(40)]), MAX);
    expect(scan).toMatchObject({ kind: 'torn', validBytes: valid.length });
    expect(scan.kind === 'torn' && texts(scan.payloads)).toEqual(['one', 'two']);
  });

  it('calls a write torn when zeros run from inside one of its records to the end of the file', () => {
    const first = record('one');
    // The write of two records: the first record's header landed, the rest reads as zeros.
    const write = Buffer.concat([record('a longer payload'), record('two')]);
    write.fill(0, RECORD_HEADER_BYTES + 3);
    const scan = scanRecords(Buffer.concat([first, write]), MAX);
    expect(scan).toMatchObject({ kind: 'torn', validBytes: first.length });
  });

  it('calls a damaged record followed by more data corrupt', () => {
    const damaged = Buffer.concat([record('one'), record('two')]);
    damaged[RECORD_HEADER_BYTES + 1] ^= 0xff;
    expect(scanRecords(damaged, MAX)).toMatchObject({
      kind: 'corrupt',
      offset: 0,
      reason: 'checksum mismatch',
    });
    const zerosThenData = Buffer.concat([record('one'), Buffer.alloc(16), record('two')]);
    expect(scanRecords(zerosThenData, MAX)).toMatchObject({ kind: 'corrupt', offset: record('one').length });
    const oversized = Buffer.concat([record('one'), record('two')]);
    oversized.writeUInt32BE(MAX + 1, 0);
    expect(scanRecords(oversized, MAX)).toMatchObject({ kind: 'corrupt', offset: 0 });
  });
});
