/** Base class of every error imdgo throws on purpose: `code` is stable, the message explains. */
export class ImdgoError extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** No leader was known before the deadline (an election is under way, or no majority is reachable). */
export class NoLeaderError extends ImdgoError {
  constructor(waitedMs: number) {
    super('NO_LEADER', `no leader elected within ${waitedMs} ms; the cluster may lack a majority`);
  }
}

/**
 * The request did not finish in time. For a write the outcome is unknown: it may still be applied (at most
 * once), as with etcd's "request timed out".
 */
export class RequestTimeoutError extends ImdgoError {
  constructor(what: string, waitedMs: number) {
    super(
      'TIMEOUT',
      `${what} did not complete within ${waitedMs} ms; a write may or may not have been applied`,
    );
  }
}

export class ValueTooLargeError extends ImdgoError {
  constructor(bytes: number, maxBytes: number) {
    super('VALUE_TOO_LARGE', `value is ${bytes} bytes encoded, more than maxValueBytes (${maxBytes})`);
  }
}

export class InvalidKeyError extends ImdgoError {
  constructor(reason: string) {
    super('INVALID_KEY', `invalid key: ${reason}`);
  }
}

export class InvalidArgumentError extends ImdgoError {
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
  }
}

/** The memory cap (`maxStoreBytes`) is reached: writes that would grow the store fail; reads and deletes work. */
export class StoreFullError extends ImdgoError {
  constructor(maxBytes: number) {
    super('NO_SPACE', `the store is full (maxStoreBytes ${maxBytes}); delete keys or raise the limit`);
  }
}

/** More writes are waiting for the log than `maxPendingWrites`: retry later (the write was not applied). */
export class BusyError extends ImdgoError {
  constructor(pending: number) {
    super('BUSY', `too many writes in flight (${pending}); the write was not applied, retry later`);
  }
}

/** The node is shutting down or stopped: nothing more is accepted. */
export class StoppedError extends ImdgoError {
  constructor() {
    super('STOPPED', 'the imdgo node is stopped or shutting down');
  }
}

/** `ready()` or the `waitForReady` option gave up: this node could not serve linearizable reads in time. */
export class NotReadyError extends ImdgoError {
  constructor(nodeId: string, waitedMs: number, reason: string) {
    super('NOT_READY', `imdgo node ${nodeId} was not ready within ${waitedMs} ms: ${reason}`);
  }
}

/** A watch asked for history that was already discarded (etcd's ErrCompacted). */
export class CompactedError extends ImdgoError {
  readonly oldestRevision: number;

  constructor(requested: number, oldestRevision: number) {
    super(
      'COMPACTED',
      `revision ${requested} has been compacted; the oldest revision available is ${oldestRevision}`,
    );
    this.oldestRevision = oldestRevision;
  }
}

/** This node cannot listen on its peer port: the message names the port, the host and what to change. */
export class PeerListenError extends ImdgoError {
  override readonly cause: unknown;

  constructor(message: string, cause: unknown) {
    super('PEER_LISTEN_FAILED', message);
    this.cause = cause;
  }
}

/** This node's lock session ended (not renewed within `lockSessionTtlMs`): what it held or waited for is gone. */
export class LockSessionEndedError extends ImdgoError {
  constructor(what: string) {
    super('LOCK_SESSION_ENDED', `the lock session ended while ${what}; everything it held was released`);
  }
}

/** `update` found the key changed by another writer on every attempt: nothing was written by it. */
export class UpdateConflictError extends ImdgoError {
  constructor(key: string, attempts: number) {
    super(
      'CONFLICT',
      `update of key "${key}" gave up after ${attempts} attempts: another writer changed it each time; nothing was written`,
    );
  }
}
