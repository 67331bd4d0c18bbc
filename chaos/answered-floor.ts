import type { FaultWindow } from './nemesis.ts';

/**
 * Fault kinds exempt from the floor: a call sent or forwarded to a leader that is cut off waits out its
 * request timeout, longer than such a window, so every client can be waiting at once while the rest of the
 * cluster is fine. The stall watch still covers them.
 */
const LEADER_CUT_OFF: ReadonlySet<string> = new Set([
  'partition-leader',
  'partition-halves',
  'packet-partition',
]);

/**
 * `--min-answered`: the windows in which fewer than `minAnswered` of the operations invoked got an answer.
 * Only windows in which a majority stood connected can be held to it; without one, answering nothing is right.
 */
export function answeredFloorViolations(windows: readonly FaultWindow[], minAnswered: number): string[] {
  const violations: string[] = [];
  for (const window of windows) {
    if (LEADER_CUT_OFF.has(window.kind) || !window.majorityDuring) continue;
    const share = window.invoked === 0 ? 0 : window.answered / window.invoked;
    if (share < minAnswered) {
      violations.push(
        `fault ${window.index} ${window.kind}: ${window.answered} of ${window.invoked} operations answered, under ${minAnswered * 100}%`,
      );
    }
  }
  return violations;
}
