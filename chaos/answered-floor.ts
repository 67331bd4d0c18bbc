import type { FaultWindow } from './nemesis.ts';

/**
 * `--min-answered`: the windows in which fewer than `minAnswered` of the operations invoked got an answer.
 * Only windows in which a majority stood connected can be held to it; without one, answering nothing is right.
 * Partitions that cut the leader off are held to it too: a call forwarded to the old leader goes to the new
 * one as soon as its node knows it.
 */
export function answeredFloorViolations(windows: readonly FaultWindow[], minAnswered: number): string[] {
  const violations: string[] = [];
  for (const window of windows) {
    if (!window.majorityDuring) continue;
    const share = window.invoked === 0 ? 0 : window.answered / window.invoked;
    if (share < minAnswered) {
      violations.push(
        `fault ${window.index} ${window.kind}: ${window.answered} of ${window.invoked} operations answered, under ${minAnswered * 100}%`,
      );
    }
  }
  return violations;
}
