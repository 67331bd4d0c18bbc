import type { LoadWindow } from '../load/closed-loop.ts';

/** Command-line argument of the scale load generator. */
export interface ScaleGeneratorArgs {
  readonly keys: number;
  readonly valueBytes: number;
}

/** What the orchestrator asks it: load every key once, or run a closed loop; both over all `urls`. */
export type ScaleGeneratorRequest =
  | { readonly kind: 'preload'; readonly urls: readonly string[]; readonly concurrency: number }
  | {
      readonly kind: 'run';
      readonly urls: readonly string[];
      readonly workload: 'write' | 'read';
      readonly concurrency: number;
      readonly window: LoadWindow;
    };
