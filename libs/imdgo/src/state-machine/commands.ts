import { Packr } from 'msgpackr';

/** Identifies a client's write so that a retried or re-forwarded one is applied at most once (Raft thesis §6.3). */
export interface SessionStamp {
  readonly client: string;
  readonly seq: number;
}

export type KvCommand =
  | { readonly op: 'set'; readonly key: string; readonly value: unknown }
  | { readonly op: 'delete'; readonly key: string }
  | { readonly op: 'cas'; readonly key: string; readonly expected: unknown; readonly value: unknown };

export interface LoggedCommand {
  readonly session?: SessionStamp;
  readonly command: KvCommand;
}

export type CommandResult =
  | { readonly op: 'set'; readonly revision: number; readonly previous: unknown }
  | {
      readonly op: 'delete';
      readonly revision: number;
      readonly deleted: boolean;
      readonly previous: unknown;
    }
  | { readonly op: 'cas'; readonly revision: number; readonly ok: boolean; readonly current: unknown };

// Plain maps rather than msgpackr records: every node must decode what any other node encoded.
const packr = new Packr({ useRecords: false, moreTypes: true });

export function encodeCommand(command: LoggedCommand): Uint8Array {
  return packr.pack(command);
}

export function decodeCommand(data: Uint8Array): LoggedCommand {
  return packr.unpack(data) as LoggedCommand;
}
