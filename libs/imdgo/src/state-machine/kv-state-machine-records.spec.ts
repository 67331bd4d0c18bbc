import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../raft/random.ts';
import type { Entry } from '../raft/types.ts';
import { encodeCommand, stampCommand, type KvCommand } from './commands.ts';
import { KvStateMachine } from './kv-state-machine.ts';
import { encodeImage } from './snapshot-image.ts';

function entry(index: number, command: KvCommand, time: number, seq: number): Entry {
  const body = encodeCommand({ session: { client: 'c', seq }, command });
  return { index, term: 1, kind: 'command', data: stampCommand(body, { time, storeLimit: null }) };
}

function randomValue(random: SeededRandom): unknown {
  const roll = random.int(10);
  if (roll < 5) return 'v'.repeat(random.int(120));
  if (roll < 6) return 'ü€'.repeat(random.int(20));
  if (roll < 8) return random.int(100);
  return { n: random.int(5), list: ['a', 'bb'.repeat(random.int(10))] };
}

describe('where the state machine keeps its records', () => {
  it('changes no answer, digest or image: replicas keeping none, few or all records young agree', () => {
    for (let seed = 1; seed <= 4; seed++) {
      const random = new SeededRandom(seed);
      const replicas = [0, 3, undefined].map((youngRecords) => new KvStateMachine({ youngRecords }));
      const leader = replicas[0]!;
      const keys = Array.from({ length: 150 }, (_, i) => `k${i}`);
      const images: { image: Uint8Array; digest: string }[] = [];
      let time = 1_000;
      for (let seq = 1; seq <= 3_000; seq++) {
        time += random.int(20);
        const key = keys[random.int(keys.length)]!;
        const map = random.chance(0.2) ? 'other' : undefined;
        const due = leader.dueExpiries(time, 1)[0];
        const roll = random.int(100);
        const command: KvCommand = due
          ? { op: 'expire', map: due.map, key: due.key, revision: due.revision }
          : roll < 50
            ? { op: 'set', map, key, value: randomValue(random), ttlMs: random.chance(0.2) ? 200 : undefined }
            : roll < 65
              ? { op: 'delete', map, key }
              : roll < 80
                ? { op: 'increment', map, key, delta: 1 }
                : {
                    op: 'cas',
                    map,
                    key,
                    expected: leader.get(map ?? '', key)?.value,
                    value: randomValue(random),
                  };
        const results = replicas.map((machine) => machine.apply(entry(seq, command, time, seq)));
        for (const result of results.slice(1)) expect(result).toEqual(results[0]);
        if (seq % 100 === 0) {
          const digests = replicas.map((machine) => machine.digest());
          expect(new Set(digests).size).toBe(1);
          images.push({ image: encodeImage(replicas[seq % 3]!.capture()), digest: digests[0]! });
        }
      }
      for (const { image, digest } of images) {
        for (const youngRecords of [0, undefined]) {
          const restored = new KvStateMachine({ youngRecords });
          restored.restore(image);
          expect(restored.digest()).toBe(digest);
        }
      }
    }
  });
});
