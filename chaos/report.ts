import type { ChaosOptions } from './options.ts';
import type { RunReport } from './run.ts';

/** The closing summary; its last line, `violations: N`, is what CI looks for. */
export function formatReport(options: ChaosOptions, report: RunReport): string {
  const { faults, operations, replicas, violations } = report;
  const total = [...faults.values()].reduce((a, b) => a + b, 0);
  const unanswered = [...report.unanswered].map(([cause, n]) => `${cause} ${n}`).join(', ');
  const linearizability = {
    linearizable: 'linearizable',
    'not-linearizable': 'not linearizable',
    unknown: 'unknown (the check timed out)',
  }[report.linearizability];
  const first = replicas[0];
  const lines = [
    `summary: seed ${options.seed}, ${options.nodes} nodes${options.partitions > 1 ? `, ${options.partitions} partitions` : ''}, ${options.mode} mode, ${options.durationMs / 1000} s of faults, ${options.workload} workload, ${options.clients} clients${options.breakage ? `, BROKEN: ${options.breakage}` : ''}`,
    `faults: ${options.faults.map((kind) => `${kind} ${faults.get(kind) ?? 0}`).join(', ')} (${total} in all)`,
    `answered per fault window, least share by kind: ${leastShares(report.windows)}`,
    `slow recoveries (no healthy cluster for over 10 s): ${report.stalls.length}`,
    `operations: ${operations.ok} ok, ${operations.fail} fail, ${operations.info} info`,
    `  ${Object.entries(report.operationsByFunction)
      .map(([f, c]) => `${f} ${c.ok}/${c.fail}/${c.info}`)
      .join(', ')} (ok/fail/info)${unanswered ? `; unanswered: ${unanswered}` : ''}`,
    `linearizability: ${linearizability} (${report.keys} keys)`,
    ...lockLines(report.locks),
    first
      ? options.partitions === 1
        ? `replicas: ${replicas.length} compared, digest ${first.digest.slice(0, 16)} (${first.keys} keys at index ${first.appliedIndex})`
        : `replicas: ${replicas.length} compared across ${new Set(replicas.map((r) => r.group)).size} groups (${replicas.filter((r) => r.group !== 'coordination').reduce((sum, r) => sum + r.keys, 0)} keys held)`
      : 'replicas: not compared',
    ...violations.map((v) => `VIOLATION: ${v}`),
    `violations: ${violations.length}`,
  ];
  return lines.join('\n');
}

/** For each fault kind, the smallest share of operations answered in one of its windows. */
function leastShares(windows: RunReport['windows']): string {
  const least = new Map<string, number>();
  for (const w of windows) {
    const share = w.invoked === 0 ? 0 : Math.min(1, w.answered / w.invoked);
    least.set(w.kind, Math.min(least.get(w.kind) ?? 1, share));
  }
  return [...least].map(([kind, share]) => `${kind} ${Math.round(share * 100)}%`).join(', ') || 'none';
}

function lockLines(locks: RunReport['locks']): string[] {
  if (!locks) return [];
  return [
    `locks: ${locks.grants} grants, ${locks.handOvers} hand-overs, ${locks.timedOutWaits} tryLock waits ran out; fenced register ${locks.writesAccepted} writes accepted, ${locks.writesFenced} refused (stale token); ${locks.unanswered} lock calls unanswered`,
    `lease overlaps (a holder's session may have expired during a fault): ${locks.leaseOverlaps.length}`,
    ...locks.leaseOverlaps.slice(0, 5).map((overlap) => `  ${overlap}`),
  ];
}
