import { describe, expect, it } from 'vitest';
import { Nemesis, type NemesisCluster } from '../chaos/nemesis.ts';
import type { NodeProcess } from '../chaos/node-process.ts';
import type { FaultKind, PlannedFault } from '../chaos/schedule.ts';

/** Only a name and an id: the membership faults do nothing else with a node of the stand-in cluster. */
const node = (name: string) => ({ name, id: `${name}:7000` }) as unknown as NodeProcess;

/** A healthy three-node cluster led by n1 whose membership calls succeed, unless `overrides` say otherwise. */
function cluster(overrides: Partial<NemesisCluster> = {}): NemesisCluster {
  const nodes = [node('n1'), node('n2'), node('n3')];
  return {
    nodes,
    network: null,
    timeoutMs: 1_000,
    responsive: () => nodes,
    leader: async () => nodes[0]!,
    describe: async () => 'the stand-in cluster',
    kill: async () => {},
    restart: async () => {},
    cut: async () => {},
    healNetwork: async () => {},
    addNode: async () => node('n4'),
    removeNode: async () => true,
    removalNeedsSuccessor: () => false,
    waitHealthy: async () => true,
    checkAdmissions: async () => {},
    majorityConnected: () => true,
    ...overrides,
  };
}

const fault = (kind: FaultKind): PlannedFault => ({
  index: 0,
  kind,
  holdMs: 0,
  gapMs: 0,
  draws: [0.5, 0, 0, 0],
});

async function failuresOf(kind: FaultKind, stand: NemesisCluster): Promise<string[]> {
  const nemesis = new Nemesis(
    stand,
    'memory',
    () => {},
    () => ({ invoked: 0, answered: 0 }),
  );
  await nemesis.run(fault(kind), Date.now() + 1_000);
  return nemesis.failures;
}

describe('chaos membership changes that fail are failures of their step, not done', () => {
  it('records nothing when the changes succeed', async () => {
    expect(await failuresOf('member-replace', cluster())).toEqual([]);
    expect(await failuresOf('member-grow-shrink', cluster())).toEqual([]);
  });

  it('fails a member-replace whose removal did not take effect', async () => {
    expect(await failuresOf('member-replace', cluster({ removeNode: async () => false }))).toEqual([
      'fault 0 member-replace: could not remove n2',
    ]);
  });

  it('fails a member-replace whose new node could not be started', async () => {
    const stand = cluster({ addNode: () => Promise.reject(new Error('no free port')) });
    expect(await failuresOf('member-replace', stand)).toEqual([
      'fault 0 member-replace: could not add a node: no free port',
    ]);
  });

  it('starts the successor first where the grid refuses a removal that leaves fewer members than replicas', async () => {
    const steps: string[] = [];
    const stand = cluster({
      removalNeedsSuccessor: () => true,
      addNode: async () => (steps.push('add'), node('n4')),
      removeNode: async (victim) => (steps.push(`remove ${victim.name}`), true),
    });
    expect(await failuresOf('member-replace', stand)).toEqual([]);
    expect(steps).toEqual(['add', 'remove n2']);
  });

  it('fails a member-grow-shrink whose new node is never admitted, and one whose removal failed', async () => {
    // Healthy before the fault, then never again: the new node is not admitted.
    let calls = 0;
    const waitHealthy = async () => ++calls === 1;
    expect(await failuresOf('member-grow-shrink', cluster({ waitHealthy }))).toEqual([
      expect.stringMatching(/^fault 0 member-grow-shrink: n4 was not admitted/),
    ]);
    expect(await failuresOf('member-grow-shrink', cluster({ removeNode: async () => false }))).toEqual([
      'fault 0 member-grow-shrink: could not remove n2',
    ]);
  });

  it('fails a membership change that finds the cluster unhealthy by its deadline, and does not make it', async () => {
    let removed = false;
    const stand = cluster({
      waitHealthy: async () => false,
      removeNode: async () => (removed = true),
    });
    expect(await failuresOf('member-replace', stand)).toEqual([
      'fault 0 member-replace: the cluster was not healthy by the deadline: the stand-in cluster',
    ]);
    expect(removed).toBe(false);
  });
});
