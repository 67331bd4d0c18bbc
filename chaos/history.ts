import { createWriteStream, type WriteStream } from 'node:fs';
import { formatImdgoEvent, type ImdgoHistoryEvent } from '../libs/imdgo/src/checker/index.ts';
import type { ClientOp } from './protocol.ts';

export type Outcome = 'ok' | 'fail' | 'info';

/**
 * The clients' history in the checker's imdgo event format, in the order the orchestrator saw the events:
 * an invocation is recorded before the request leaves, a completion when its answer arrives, so the order
 * respects real time. Also streamed to a JSON-lines file as it grows.
 */
export class History {
  readonly events: ImdgoHistoryEvent[] = [];
  readonly counts = { ok: 0, fail: 0, info: 0 };
  /** The same, per function: a failed cas was refused, a failed get had no answer. */
  readonly countsByFunction = {
    get: { ok: 0, fail: 0, info: 0 },
    set: { ok: 0, fail: 0, info: 0 },
    cas: { ok: 0, fail: 0, info: 0 },
  };
  private readonly file: WriteStream;
  private processes = 0;

  constructor(path: string) {
    this.file = createWriteStream(path);
  }

  /** A fresh process id: a client takes one at start and after every operation left open (info). */
  newProcess(): number {
    return this.processes++;
  }

  invoke(process: number, op: ClientOp): void {
    if (op.f === 'get') this.add({ process, type: 'invoke', f: 'get', key: op.key });
    else if (op.f === 'set') this.add({ process, type: 'invoke', f: 'set', key: op.key, value: op.value });
    else this.add({ process, type: 'invoke', f: 'cas', key: op.key, value: [op.expected, op.next] });
  }

  /** `read` is the value an ok get returned (null when absent). */
  complete(process: number, op: ClientOp, type: Outcome, read?: number | null): void {
    this.counts[type]++;
    this.countsByFunction[op.f][type]++;
    const event: ImdgoHistoryEvent = { process, type, f: op.f, key: op.key };
    if (op.f === 'get' && type === 'ok') event.value = read ?? null;
    this.add(event);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.file.end(resolve));
  }

  private add(event: ImdgoHistoryEvent): void {
    this.events.push(event);
    this.file.write(`${formatImdgoEvent(event)}\n`);
  }
}
