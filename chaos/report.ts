import type { ChaosOptions } from './options.ts';
import type { RunReport } from './run.ts';
import { FAULT_KINDS } from './schedule.ts';

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
    `summary: seed ${options.seed}, ${options.nodes} nodes, ${options.mode} mode, ${options.durationMs / 1000} s of faults, ${options.clients} clients`,
    `faults: ${FAULT_KINDS.map((kind) => `${kind} ${faults.get(kind) ?? 0}`).join(', ')} (${total} in all)`,
    `stalls (no healthy cluster for over 10 s): ${report.stalls.length}`,
    `operations: ${operations.ok} ok, ${operations.fail} fail, ${operations.info} info`,
    `  ${Object.entries(report.operationsByFunction)
      .map(([f, c]) => `${f} ${c.ok}/${c.fail}/${c.info}`)
      .join(', ')} (ok/fail/info)${unanswered ? `; unanswered: ${unanswered}` : ''}`,
    `linearizability: ${linearizability} (${report.keys} keys)`,
    first
      ? `replicas: ${replicas.length} compared, digest ${first.digest.slice(0, 16)} (${first.keys} keys at index ${first.appliedIndex})`
      : 'replicas: not compared',
    ...violations.map((v) => `VIOLATION: ${v}`),
    `violations: ${violations.length}`,
  ];
  return lines.join('\n');
}
