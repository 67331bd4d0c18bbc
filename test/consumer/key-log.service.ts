import { Injectable } from '@nestjs/common';
import { OnKeyChange, type ChangeEvent } from 'imdgo';

/** A consumer's provider: remembers each `user:*` key whose change reached this node. */
@Injectable()
export class KeyLog {
  private readonly seen = new Set<string>();
  private readonly waiters = new Map<string, () => void>();

  @OnKeyChange('user:*')
  onUserChange(change: ChangeEvent): void {
    this.seen.add(change.key);
    this.waiters.get(change.key)?.();
  }

  /** Resolves once a change of `key` has been delivered here. */
  changed(key: string): Promise<void> {
    if (this.seen.has(key)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.set(key, resolve));
  }
}
