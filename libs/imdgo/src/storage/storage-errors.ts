/** A log or snapshot file on disk is damaged beyond a torn tail: the node refuses to start on it. */
export class StorageCorruptionError extends Error {
  override readonly name = 'StorageCorruptionError';
}

/** A write or fsync failed: nothing after it may be acknowledged. */
export class StorageFailedError extends Error {
  override readonly name = 'StorageFailedError';
}

/** The data directory holds data this node must not read: another release's, or another layout's. */
export class StorageLayoutError extends Error {
  override readonly name = 'StorageLayoutError';
}
