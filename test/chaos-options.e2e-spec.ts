import { describe, expect, it } from 'vitest';
import { parseChaosOptions, UsageError, type ChaosOptions } from '../chaos/options.ts';
import { FAULT_KINDS, PACKET_KINDS } from '../chaos/schedule.ts';

/** As on a machine where namespaces cannot be made (not root). */
const parse = (...argv: string[]) => parseChaosOptions(argv, false) as ChaosOptions;
const parseAsRoot = (...argv: string[]) => parseChaosOptions(argv, true) as ChaosOptions;

describe('chaos options', () => {
  it('runs every fault kind the mode supports and the full workload by default', () => {
    const hooked = FAULT_KINDS.filter((kind) => !PACKET_KINDS.includes(kind));
    expect(parse().faults).toEqual(hooked.filter((kind) => kind !== 'kill-all'));
    expect(parse('--mode', 'data').faults).toEqual(hooked);
    expect(parseAsRoot('--mode', 'data').faults).toEqual(FAULT_KINDS);
    expect(parse()).toMatchObject({ workload: 'full', clients: 6, thinkMs: 20, breakage: null });
    expect(parse('--workload', 'heavy')).toMatchObject({ clients: 24, thinkMs: 0 });
    expect(parse().partitions).toBe(1);
    expect(parse('--partitions', '16').partitions).toBe(16);
  });

  it('takes fault kinds and groups, keeping of a group what the mode supports', () => {
    expect(parse('--faults', 'clock,pause-leader').faults).toEqual(['clock-jump', 'pause-leader']);
    expect(parse('--faults', 'kill').faults).toEqual(['kill-leader', 'kill-follower']);
    expect(parse('--mode', 'data', '--faults', 'kill').faults).toContain('kill-all');
    expect(parseAsRoot('--faults', 'packet').faults).toEqual(PACKET_KINDS);
  });

  it('refuses what it cannot do with a clear message', () => {
    expect(() => parse('--faults', 'kill-all')).toThrow(/kill-all needs --mode data/);
    expect(() => parse('--faults', 'packet')).toThrow(/packet faults need root/);
    expect(() => parse('--faults', 'packet-netem')).toThrow(/packet-netem needs root/);
    expect(() => parse('--faults', 'meteor')).toThrow(UsageError);
    expect(() => parse('--break', 'everything')).toThrow(/--break must be one of/);
    expect(() => parse('--workload', 'light')).toThrow(/--workload must be full, heavy or locks/);
    expect(() => parse('--partitions', '0')).toThrow(
      /--partitions must be a whole number from 1 to 65536, got "0"/,
    );
  });
});
