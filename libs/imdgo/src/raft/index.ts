export { RaftInvariantError } from './assert.ts';
export { RAFT_DEFAULTS, resolveRaftConfig } from './config.ts';
export type { RaftConfig, RaftOptions, RaftTestOnlyBugs } from './config.ts';
export type { TransferResult } from './leadership-transfer.ts';
export { SeededRandom } from './random.ts';
export type { RandomSource } from './random.ts';
export { Raft } from './raft.ts';
export type { ProposeResult, RaftRestoreState, RaftStatus } from './raft.ts';
export type * from './types.ts';
