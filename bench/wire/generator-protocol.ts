import type { LoadWindow } from '../load/closed-loop.ts';
import type { RunSpec } from '../results.ts';
import type { WireClient } from './http-call.ts';
import type { WireTarget } from './http-kv.ts';

/** Command-line argument of the load-generator process. */
export interface GeneratorArgs {
  readonly keys: number;
  readonly valueBytes: number;
  readonly client: WireClient;
}

/** What the orchestrator asks the load generator; `run` answers a LoadSummary, `cpu` its CPU µs so far. */
export type GeneratorRequest =
  | { readonly kind: 'cpu' }
  | { readonly kind: 'preload'; readonly target: WireTarget; readonly baseUrl: string }
  | {
      readonly kind: 'run';
      readonly target: WireTarget;
      readonly baseUrl: string;
      readonly spec: RunSpec;
      readonly window: LoadWindow;
    };
