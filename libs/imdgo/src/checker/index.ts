export type { EventType, HistoryEvent, Model, Operation, StepResult } from './types.ts';
export { checkOperations } from './linearizability.ts';
export type { CheckOptions, CheckResult } from './linearizability.ts';
export { partitionByKey } from './models/partition-by-key.ts';
export { canonicalJson } from './models/canonical-json.ts';
export { registerModel } from './models/etcd-register.ts';
export type { RegisterInput, RegisterOutput, RegisterState } from './models/etcd-register.ts';
export { appendKvModel } from './models/append-kv.ts';
export type { AppendKvInput, AppendKvOutput } from './models/append-kv.ts';
export { imdgoKvModel } from './models/imdgo-kv.ts';
export type { ImdgoKvInput, ImdgoKvOutput } from './models/imdgo-kv.ts';
export { HistoryParseError } from './parsers/parse-error.ts';
export { pairEvents } from './parsers/pair-events.ts';
export type { EventConversion } from './parsers/pair-events.ts';
export { parseJepsenEtcd } from './parsers/jepsen-etcd.ts';
export { parsePorcupineKv } from './parsers/porcupine-kv.ts';
export {
  formatImdgoEvent,
  formatImdgoHistory,
  IMDGO_FUNCTIONS,
  imdgoEventsToOperations,
  parseImdgoHistory,
} from './parsers/imdgo-jsonl.ts';
export type { ImdgoFunction, ImdgoHistoryEvent } from './parsers/imdgo-jsonl.ts';
