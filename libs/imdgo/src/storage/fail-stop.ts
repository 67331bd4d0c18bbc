import { StorageFailedError } from './storage-errors.ts';

/** The refusal of a write after an earlier one failed: only a restart knows what reached the disk. */
export function earlierWriteFailed(failure: Error): StorageFailedError {
  return new StorageFailedError(
    `an earlier write failed (${failure.message}); restart to reload what is durable`,
    { cause: failure },
  );
}

/** Fail-stop for a log: once one write failed, every later one is refused. */
export class FailStop {
  private failure: Error | null = null;

  /** The write that failed, if one did. */
  get error(): Error | null {
    return this.failure;
  }

  async run<T>(operation: () => Promise<T>): Promise<T> {
    if (this.failure) throw earlierWriteFailed(this.failure);
    try {
      return await operation();
    } catch (error) {
      this.failure = error as Error;
      throw error;
    }
  }
}
