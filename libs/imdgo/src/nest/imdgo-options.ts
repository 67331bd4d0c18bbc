import { plainToInstance, Type } from 'class-transformer';
import {
  Allow,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
  ValidateNested,
  validateSync,
  type ValidationError,
} from 'class-validator';
import { ImdgoError } from '../errors.ts';
import { DEFAULT_REPLICAS, MAX_PARTITIONS } from '../partition/index.ts';
import { MIN_CLUSTER_SECRET_LENGTH } from '../transport/peer-handshake.ts';
import { PeerTlsSchema, type PeerTlsOptions } from '../transport/peer-tls.ts';
import { DEFAULT_READY_TIMEOUT_MS } from './readiness.ts';

/** What `ImdgoModule.forRoot()` takes. Times are in milliseconds unless named in ticks. */
export interface ImdgoModuleOptions {
  /** Every node of the cluster as `host:port` (port defaults to 6701), this one included. */
  members: string[];
  /**
   * Which member this node is. Default: the one member whose host is an address of this machine. A node
   * whose id is not among `members` joins the cluster those members form.
   */
  nodeId?: string;
  /**
   * Keep the Raft log, votes and snapshots in this directory (one per node), so a restarted node resumes
   * with everything it acknowledged. Without it (memory mode) a restarted node rejoins as a new member.
   */
  dataDir?: string;
  /**
   * Partitions the keys are spread over, each its own Raft group, fixed when the cluster forms. Default 1:
   * one group holding every key on every member (no grid).
   */
  partitions?: number;
  /** Members holding each partition (with `partitions` > 1). Default 3, capped at the number of members. */
  replicas?: number;
  /** Applied entries between snapshots (then the log is compacted). Default 8192. */
  snapshotThreshold?: number;
  /**
   * Memory cap: bytes of stored data (keys and encoded values) beyond which writes that would grow the
   * store fail with StoreFullError (reads and deletes keep working). Default: no cap.
   */
  maxStoreBytes?: number;
  /** At the cap: `'reject'` (default) refuses the write; `'evict-ttl'` first evicts keys nearest to expiry. */
  memoryPolicy?: 'reject' | 'evict-ttl';
  /** Writes waiting for the log beyond which new ones fail at once with BusyError. Default 10,000. */
  maxPendingWrites?: number;
  /** Address the peer port binds to. Default: the host of this node's member entry. */
  bindHost?: string;
  /** Length of one Raft tick. Default 100 ms. */
  tickMs?: number;
  /** Election timeout in ticks (randomized up to twice this). Default 10 (1 s). */
  electionTicks?: number;
  /** Heartbeat interval in ticks. Default 1 (100 ms). */
  heartbeatTicks?: number;
  /** How long a write or linearizable read may wait for a leader and commit. Default 5000 ms. */
  requestTimeoutMs?: number;
  /** Largest encoded value accepted by a write. Default 1 MiB. */
  maxValueBytes?: number;
  /** Change events kept for `watch({ fromRevision })`. Default 10,000. */
  watchHistorySize?: number;
  /**
   * How long this node's lock session outlives its last renewal (log time) before everything it holds
   * (locks, elections) is released on every node. Renewed every third of it while the node lives. Default 10 s.
   */
  lockSessionTtlMs?: number;
  /** Seeds the election timer's random source (tests); default: random. */
  randomSeed?: number;
  /** Lets tests cut this node's links through ImdgoFaultInjector. Never enable it in production. */
  faultInjection?: boolean;
  /**
   * Mutual TLS between members: each presents `cert` and accepts only peers whose certificate chains to
   * `ca` (PEM strings or Buffers). Default: plain TCP.
   */
  tls?: PeerTlsOptions;
  /**
   * A secret (at least 16 characters; make it random, 128 bits or more, as a recorded handshake lets
   * guesses be tested offline) every member must hold: each peer connection proves it both ways before
   * anything else crosses. Default: none, so whoever reaches the peer port is taken for a member.
   */
  clusterSecret?: string;
  /**
   * Hold application bootstrap (`onApplicationBootstrap`) until this node is ready, as `store.ready()`
   * defines it: `true` waits up to 30 s, `{ timeoutMs }` that long; then startup fails with NotReadyError.
   * Default: false, bootstrap goes on while the cluster forms.
   */
  waitForReady?: boolean | { timeoutMs?: number };
}

/** The default peer port, as in the Go original (it used 6801 for forwarding, which imdgo does not need). */
export const DEFAULT_PEER_PORT = 6701;
export const MAX_KEY_BYTES = 1024;

const MEMBER_PATTERN = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/;

/** The class-validator schema of the options; unknown fields are refused. */
class ImdgoOptionsSchema {
  @IsArray()
  @ArrayMinSize(1)
  @IsString({ each: true })
  @Matches(MEMBER_PATTERN, { each: true, message: 'each member must be host or host:port' })
  members!: string[];

  @IsOptional() @IsString() @Matches(MEMBER_PATTERN, { message: 'nodeId must be host:port' }) nodeId?: string;
  @IsOptional() @IsString() bindHost?: string;
  @IsOptional() @IsString() dataDir?: string;
  @IsOptional() @IsInt() @Min(1) @Max(MAX_PARTITIONS) partitions?: number;
  @IsOptional() @IsInt() @Min(1) replicas?: number;
  @IsOptional() @IsInt() @Min(1) snapshotThreshold?: number;
  @IsOptional() @IsInt() @Min(1) maxStoreBytes?: number;
  @IsOptional() @IsIn(['reject', 'evict-ttl']) memoryPolicy?: 'reject' | 'evict-ttl';
  @IsOptional() @IsInt() @Min(1) maxPendingWrites?: number;
  @IsOptional() @IsInt() @Min(1) @Max(60_000) tickMs?: number;
  @IsOptional() @IsInt() @Min(2) @Max(10_000) electionTicks?: number;
  @IsOptional() @IsInt() @Min(1) @Max(10_000) heartbeatTicks?: number;
  @IsOptional() @IsInt() @Min(1) requestTimeoutMs?: number;
  @IsOptional() @IsInt() @Min(1) @Max(64 * 1024 * 1024) maxValueBytes?: number;
  @IsOptional() @IsInt() @Min(0) watchHistorySize?: number;
  @IsOptional() @IsInt() @Min(100) lockSessionTtlMs?: number;
  @IsOptional() @IsInt() randomSeed?: number;
  @IsOptional() @IsBoolean() faultInjection?: boolean;
  @IsOptional() @ValidateNested() @Type(() => PeerTlsSchema) tls?: PeerTlsSchema;
  @IsOptional() @IsString() @MinLength(MIN_CLUSTER_SECRET_LENGTH) clusterSecret?: string;
  @IsOptional() @Allow() waitForReady?: unknown;
}

export interface ResolvedImdgoOptions {
  readonly members: readonly string[];
  /** Null until resolved against this machine's addresses (see resolveNodeId). */
  readonly nodeId: string | null;
  readonly bindHost: string | null;
  readonly dataDir: string | null;
  readonly partitions: number;
  /** Already capped at the number of members. */
  readonly replicas: number;
  readonly snapshotThreshold: number;
  readonly maxStoreBytes: number | null;
  readonly memoryPolicy: 'reject' | 'evict-ttl';
  readonly maxPendingWrites: number;
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly requestTimeoutMs: number;
  readonly maxValueBytes: number;
  readonly watchHistorySize: number;
  readonly lockSessionTtlMs: number;
  readonly randomSeed: number | null;
  readonly faultInjection: boolean;
  readonly tls: PeerTlsOptions | null;
  readonly clusterSecret: string | null;
  /** How long bootstrap waits for readiness, or null: it does not. */
  readonly waitForReadyMs: number | null;
}

/** Options (or a `forRoot` setup) that cannot work; thrown at startup, before anything listens. */
export class ImdgoOptionsError extends ImdgoError {
  constructor(message: string) {
    super('INVALID_OPTIONS', message);
  }
}

/** Validates the options and fills in defaults; a bad option fails startup with its field and value named. */
export function validateImdgoOptions(raw: unknown): ResolvedImdgoOptions {
  if (typeof raw !== 'object' || raw === null) throw new ImdgoOptionsError('imdgo options must be an object');
  const schema = plainToInstance(ImdgoOptionsSchema, raw);
  const errors = validateSync(schema, { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length > 0)
    throw new ImdgoOptionsError(
      `invalid imdgo options: ${errors.map((error) => describe(error)).join('; ')}`,
    );

  const members = schema.members.map(normalizeMemberId);
  const duplicate = members.find((m, i) => members.indexOf(m) !== i);
  if (duplicate) throw new ImdgoOptionsError(`invalid imdgo options: members lists "${duplicate}" twice`);
  const nodeId = schema.nodeId === undefined ? null : normalizeMemberId(schema.nodeId);
  const electionTicks = schema.electionTicks ?? 10;
  const heartbeatTicks = schema.heartbeatTicks ?? 1;
  if (electionTicks <= heartbeatTicks) {
    throw new ImdgoOptionsError(
      `invalid imdgo options: electionTicks (${electionTicks}) must be greater than heartbeatTicks (${heartbeatTicks})`,
    );
  }
  return {
    members,
    nodeId,
    bindHost: schema.bindHost ?? null,
    dataDir: schema.dataDir ?? null,
    partitions: schema.partitions ?? 1,
    replicas: Math.min(schema.replicas ?? DEFAULT_REPLICAS, members.length),
    snapshotThreshold: schema.snapshotThreshold ?? 8192,
    maxStoreBytes: schema.maxStoreBytes ?? null,
    memoryPolicy: schema.memoryPolicy ?? 'reject',
    maxPendingWrites: schema.maxPendingWrites ?? 10_000,
    tickMs: schema.tickMs ?? 100,
    electionTicks,
    heartbeatTicks,
    requestTimeoutMs: schema.requestTimeoutMs ?? 5_000,
    maxValueBytes: schema.maxValueBytes ?? 1024 * 1024,
    watchHistorySize: schema.watchHistorySize ?? 10_000,
    lockSessionTtlMs: schema.lockSessionTtlMs ?? 10_000,
    randomSeed: schema.randomSeed ?? null,
    faultInjection: schema.faultInjection ?? false,
    tls: schema.tls ?? null,
    clusterSecret: schema.clusterSecret ?? null,
    waitForReadyMs: resolveWaitForReady(schema.waitForReady),
  };
}

/** `host` or `host:port` as the canonical `host:port` member id (lower case, default port 6701). */
export function normalizeMemberId(member: string): string {
  const lower = member.toLowerCase();
  const hasPort = lower.startsWith('[') ? /\]:\d+$/.test(lower) : lower.includes(':');
  const withPort = hasPort ? lower : `${lower}:${DEFAULT_PEER_PORT}`;
  const port = Number(withPort.slice(withPort.lastIndexOf(':') + 1));
  if (port < 1 || port > 65_535)
    throw new ImdgoOptionsError(
      `invalid imdgo options: member "${member}" has port ${port}, outside 1-65535`,
    );
  return withPort;
}

function resolveWaitForReady(value: unknown): number | null {
  if (value === undefined || value === false) return null;
  if (value === true) return DEFAULT_READY_TIMEOUT_MS;
  const timeoutMs: unknown =
    typeof value === 'object' && value !== null && Object.keys(value).every((k) => k === 'timeoutMs')
      ? ((value as { timeoutMs?: unknown }).timeoutMs ?? DEFAULT_READY_TIMEOUT_MS)
      : undefined;
  if (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs < 1) {
    throw new ImdgoOptionsError(
      `invalid imdgo options: "waitForReady" (value ${JSON.stringify(value)}): ` +
        'must be true, false or { timeoutMs } with a positive integer of milliseconds',
    );
  }
  return timeoutMs;
}

/** Options whose values must not end up in a log: keys and secrets. */
const SECRET_OPTIONS = new Set(['tls', 'clusterSecret']);

function describe(error: ValidationError, parent = ''): string {
  const path = `${parent}${error.property}`;
  if (error.children?.length) return error.children.map((child) => describe(child, `${path}.`)).join('; ');
  if (error.constraints?.whitelistValidation) return `unknown option "${path}"`;
  const reasons = Object.values(error.constraints ?? {}).join(', ');
  const secret = SECRET_OPTIONS.has(path.split('.')[0]!);
  return `"${path}" (value ${secret ? 'not shown' : JSON.stringify(error.value)}): ${reasons}`;
}
