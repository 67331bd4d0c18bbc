import { Injectable } from '@nestjs/common';
import { InvalidArgumentError } from '../errors.ts';
import { ImdgoRuntime } from './imdgo-runtime.ts';

/** Network partitions for tests of real processes (the `faultInjection` option must be on). */
@Injectable()
export class ImdgoFaultInjector {
  private readonly runtime: ImdgoRuntime;

  constructor(runtime: ImdgoRuntime) {
    this.runtime = runtime;
  }

  /** Drops all traffic between this node and `peers`, both ways (call it on both sides for a clean cut). */
  block(peers: readonly string[]): void {
    this.faults().block(peers);
  }

  heal(): void {
    this.faults().heal();
  }

  blockedPeers(): string[] {
    return this.faults().blockedPeers();
  }

  private faults() {
    const faults = this.runtime.faults;
    if (!faults)
      throw new InvalidArgumentError('fault injection is off: start the module with faultInjection: true');
    return faults;
  }
}
