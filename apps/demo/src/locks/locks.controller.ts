import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ImdgoStore, type HeldLock } from 'imdgo';

export interface LocksView {
  readonly holders: HeldLock[];
  /** The demo singleton job's latest run, as stored by the node that ran it. */
  readonly lastReport: { node: string; at: string; runs: number } | null;
}

@ApiTags('locks')
@Controller('locks')
export class LocksController {
  private readonly store: ImdgoStore;

  constructor(store: ImdgoStore) {
    this.store = store;
  }

  @Get()
  @ApiOperation({
    summary: "Held locks and elections, and the demo singleton job's latest run (this node's view)",
  })
  view(): LocksView {
    const lastReport = this.store.map<LocksView['lastReport']>('jobs').peek('demo-report:last') ?? null;
    return { holders: this.store.lockHolders(), lastReport };
  }
}
