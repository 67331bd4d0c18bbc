export { ImdgoModule } from './nest/imdgo.module.ts';
export { ImdgoStore, type HeldLock } from './nest/imdgo-store.ts';
export { ImdgoMap } from './nest/imdgo-map.ts';
export { getMapToken, InjectMap } from './nest/inject-map.decorator.ts';
export type { KeyChangeHandlerDecorator } from './nest/on-key-change.decorator.ts';
export type { TxnCondition, TxnRequest, TxnResult, TxnWrite } from './nest/map-txn.ts';
export type { UpdateOptions, UpdateResult } from './nest/update.ts';
export type {
  ConditionalResult,
  Consistency,
  DeleteResult,
  Entry,
  ListOptions,
  Page,
  ReadOptions,
  SetResult,
  WatchEvent,
  WatchOptions,
  WriteOptions,
} from './nest/imdgo-map.ts';
export { ImdgoCluster, type PartitionsReport } from './nest/imdgo-cluster.ts';
export type { GridPartitionStatus } from './grid/index.ts';
export type { ClusterStatus, MemberStatus } from './driver/cluster-status.ts';
export type { Role } from './raft/types.ts';
export { IMDGO_HTTP_STATUS, ImdgoExceptionFilter } from './nest/imdgo-exception.filter.ts';
export { OnKeyChange, type OnKeyChangeOptions } from './nest/on-key-change.decorator.ts';
export { ImdgoLock, type TryLockOptions } from './nest/imdgo-lock.ts';
export { ImdgoElection, type ElectionLeader } from './nest/imdgo-election.ts';
export { ClusterSingleton } from './nest/cluster-singleton.decorator.ts';
export type { LockHolder } from './state-machine/lock-table.ts';
export {
  DEFAULT_PEER_PORT,
  ImdgoOptionsError,
  MAX_KEY_BYTES,
  type ImdgoModuleOptions,
  type PlacementTuning,
} from './nest/imdgo-options.ts';
export type { ChangeEvent } from './state-machine/change-event.ts';
export { ImdgoKeyvStore, imdgoKeyvStore, type ImdgoKeyvStoreOptions } from './integrations/keyv-store.ts';
export {
  IMDGO_THROTTLER_OPTIONS,
  ImdgoThrottlerStorage,
  type ImdgoThrottlerStorageOptions,
  type ThrottlerRecord,
} from './integrations/throttler-storage.ts';
export * from './errors.ts';
