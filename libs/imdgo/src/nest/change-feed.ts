import { Observable, Subject } from 'rxjs';
import type { ChangeEvent } from '../state-machine/change-event.ts';
import { ChangeHistory } from './change-history.ts';

/**
 * This node's change events: live, and replayed from a retained revision. When the node's state jumps to a
 * snapshot, the changes it covers are never emitted one by one: subscribers get one `reset` event instead,
 * and replay from a revision it covers fails with CompactedError.
 */
export class ChangeFeed {
  private readonly subject = new Subject<ChangeEvent>();
  private readonly history: ChangeHistory;

  constructor(historySize: number) {
    this.history = new ChangeHistory(historySize);
  }

  /** An applied change. */
  publish(change: ChangeEvent): void {
    this.history.add(change);
    this.subject.next(change);
  }

  /** The state machine was replaced by a snapshot at `revision` (installed from the leader, or loaded). */
  reset(revision: number): void {
    this.history.compactThrough(revision);
    this.subject.next({ type: 'reset', map: '', key: '', value: undefined, previous: undefined, revision });
  }

  get live$(): Observable<ChangeEvent> {
    return this.subject.asObservable();
  }

  /** Replays retained events from `fromRevision`, then follows live ones, with no gap between the two. */
  from(fromRevision: number): Observable<ChangeEvent> {
    return new Observable<ChangeEvent>((subscriber) => {
      const past = this.history.since(fromRevision);
      for (const event of past) subscriber.next(event);
      return this.subject.subscribe(subscriber);
    });
  }

  complete(): void {
    this.subject.complete();
  }
}
