/**
 * Balance against partition count: for P partitions (3 replicas) on N members, how much more than the mean
 * the most loaded member holds (replicas, leaderships, keys held, keys led), as placement leaves it
 * after the grid grew from 3 members one at a time. Not part of CI.
 *
 *   node bench/scale/partition-balance.ts [--partitions 16,32,64,128,271] [--nodes 3-12] [--keys 100000]
 */
import { parseArgs } from 'node:util';
import { makeDataset } from '../load/dataset.ts';
import { balanceOf, grownTable, keysPerPartition } from './balance.ts';

const { values } = parseArgs({
  options: {
    partitions: { type: 'string', default: '16,32,64,128,271' },
    nodes: { type: 'string', default: '3-12' },
    keys: { type: 'string', default: '100000' },
    replicas: { type: 'string', default: '3' },
  },
});
const partitionCounts = values.partitions.split(',').map(Number);
const [low, high] = values.nodes.split('-').map(Number) as [number, number | undefined];
const sizes = Array.from({ length: (high ?? low) - low + 1 }, (_, i) => low + i);
const replicas = Number(values.replicas);
const keys = makeDataset(Number(values.keys), 1).keys;
if ([...partitionCounts, ...sizes, replicas, keys.length].some((n) => !Number.isInteger(n) || n < 1)) {
  throw new Error('usage: --partitions 16,32 --nodes 3-12 --keys 100000 --replicas 3 (positive integers)');
}

console.log(
  `max/mean per member, ${replicas} replicas, ${keys.length} keys, grown from 3 members one at a time`,
);
console.log('partitions nodes  replicas  leaders  keys-held  keys-led');
for (const partitions of partitionCounts) {
  const counts = keysPerPartition(keys, partitions);
  for (const nodes of sizes) {
    const table = grownTable(partitions, replicas, Math.min(3, nodes), nodes);
    const members = Array.from({ length: nodes }, (_, i) => `m${String(i + 1).padStart(2, '0')}`);
    const balance = balanceOf(table, members, counts);
    console.log(
      [
        String(partitions).padStart(10),
        String(nodes).padStart(5),
        balance.replicas.toFixed(2).padStart(9),
        balance.leaders.toFixed(2).padStart(8),
        balance.keys.toFixed(2).padStart(10),
        balance.ledKeys.toFixed(2).padStart(9),
      ].join(' '),
    );
  }
}
