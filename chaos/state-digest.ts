import type { ImdgoRuntime } from '../libs/imdgo/src/nest/imdgo-runtime.ts';
import type { StateDigest } from './protocol.ts';

/**
 * The state machine's own digest of everything replicated (entries with their versions, revisions and
 * `expiresAt`, the TTL order, byte counts and the exactly-once session table), taken synchronously, so
 * it belongs to exactly the applied index it reports.
 */
export function digestState(runtime: ImdgoRuntime): StateDigest {
  const { machine } = runtime.node;
  const keys = machine.mapNames().reduce((sum, map) => sum + machine.size(map), 0);
  return { digest: machine.digest(), keys, appliedIndex: machine.appliedIndex };
}
