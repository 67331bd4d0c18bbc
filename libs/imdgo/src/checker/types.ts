/**
 * One client operation of a history. Times only need to be comparable; they are usually event
 * indices. An operation whose outcome is unknown (timed out, or never completed) has
 * `output: undefined` and `return: Number.POSITIVE_INFINITY`: it may take effect at any point after
 * its call, or not at all.
 */
export type Operation<I, O> = {
  clientId: number;
  input: I;
  call: number;
  output: O | undefined;
  return: number;
};

export type StepResult<S> = { ok: boolean; state: S };

/** A sequential specification of the object under test. States must be immutable values. */
export interface Model<S, I, O> {
  init(): S;
  /**
   * Applies `input` to `state` and says whether `output` is what the object could have answered.
   * `output` is `undefined` when the outcome is unknown; the model decides what that permits (for an
   * operation that may or may not have taken effect, both must stay possible: `ok` must be true).
   */
  step(state: S, input: I, output: O | undefined): StepResult<S>;
  /** Splits a history into independent sub-histories (e.g. per key), checked separately. */
  partition?(ops: readonly Operation<I, O>[]): Operation<I, O>[][];
  /** A string that is equal for two states exactly when they are equal; used to memoize the search. */
  key(state: S): string;
}

/**
 * The Jepsen-style event form that recorded histories use: an `invoke` by a process, later completed
 * by the same process with `ok`, `fail` (definitely did not take effect) or `info` (outcome unknown).
 */
export type EventType = 'invoke' | 'ok' | 'fail' | 'info';

export type HistoryEvent = { process: number; type: EventType; f: string; key?: string };
