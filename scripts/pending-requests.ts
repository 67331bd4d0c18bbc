interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/** Requests to a child process awaiting their answers by id, each with its own timeout. */
export class PendingRequests {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  /**
   * Registers a request and calls `send` with its id; the promise settles with the answer, with
   * `timeoutError()` after `timeoutMs`, or with the error `send` reports through `fail`.
   */
  start<T>(
    timeoutMs: number,
    timeoutError: () => Error,
    send: (id: number, fail: (error: Error) => void) => void,
  ): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(timeoutError());
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
      send(id, (error) => this.settle(id, (p) => p.reject(error)));
    });
  }

  resolve(id: number, value: unknown): void {
    this.settle(id, (p) => p.resolve(value));
  }

  reject(id: number, error: Error): void {
    this.settle(id, (p) => p.reject(error));
  }

  rejectAll(error: Error): void {
    for (const id of this.pending.keys()) this.reject(id, error);
  }

  /** An answer that comes after its request gave up is ignored. */
  private settle(id: number, outcome: (pending: Pending) => void): void {
    const pending = this.pending.get(id);
    if (!pending) return;
    this.pending.delete(id);
    clearTimeout(pending.timer);
    outcome(pending);
  }
}
