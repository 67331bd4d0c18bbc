import { createWriteStream, type WriteStream } from 'node:fs';
import { formatImdgoEvent, type ImdgoHistoryEvent } from '../libs/imdgo/src/checker/index.ts';
import { CLIENT_FUNCTIONS, type ClientFunction, type ClientOp } from './protocol.ts';

export type Outcome = 'ok' | 'fail' | 'info';
type Counts = Record<Outcome, number>;

/**
 * The clients' history in the checker's imdgo event format, in the order the orchestrator saw the events:
 * an invocation is recorded before the request leaves, a completion when its answer arrives, so the order
 * respects real time. Also streamed to a JSON-lines file as it grows.
 */
export class History {
  readonly events: ImdgoHistoryEvent[] = [];
  readonly counts: Counts = { ok: 0, fail: 0, info: 0 };
  /**
   * The same, per function: a failed conditional write was refused, a failed delete found nothing, a
   * failed get had no answer.
   */
  readonly countsByFunction = Object.fromEntries(
    CLIENT_FUNCTIONS.map((f) => [f, { ok: 0, fail: 0, info: 0 }]),
  ) as Record<ClientFunction, Counts>;
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
    const event: ImdgoHistoryEvent = { process, type: 'invoke', f: op.f, key: op.key };
    if (op.f === 'set' || op.f === 'putIfAbsent') event.value = op.value;
    else if (op.f === 'cas') event.value = [op.expected, op.next];
    else if (op.f === 'setIfVersion') event.value = [op.version, op.value];
    else if (op.f === 'increment') event.value = op.delta;
    if (op.f !== 'get' && op.f !== 'delete' && op.ttlMs !== undefined) event.ttl = op.ttlMs;
    this.add(event);
  }

  /** `answer` is what an ok get read (with the key's version) or the value an ok increment returned. */
  complete(
    process: number,
    op: ClientOp,
    type: Outcome,
    answer?: { value: number | null; version?: number },
  ): void {
    this.counts[type]++;
    this.countsByFunction[op.f][type]++;
    const event: ImdgoHistoryEvent = { process, type, f: op.f, key: op.key };
    if ((op.f === 'get' || op.f === 'increment') && type === 'ok') {
      event.value = answer?.value ?? null;
      if (answer?.version !== undefined) event.version = answer.version;
    }
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
