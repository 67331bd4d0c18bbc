/** Thrown when the core finds its own invariants broken: a bug, never a runtime condition to handle. */
export class RaftInvariantError extends Error {
  override readonly name = 'RaftInvariantError';
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new RaftInvariantError(message);
}
