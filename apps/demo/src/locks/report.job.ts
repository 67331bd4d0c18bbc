import { Injectable } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { ClusterSingleton, ImdgoCluster, ImdgoStore } from 'imdgo';

/** The demo's one-instance job: every 2 s, on whichever node leads the election `demo-report`. */
@Injectable()
export class ReportJob {
  static readonly ELECTION = 'demo-report';
  private readonly store: ImdgoStore;
  private readonly cluster: ImdgoCluster;

  constructor(store: ImdgoStore, cluster: ImdgoCluster) {
    this.store = store;
    this.cluster = cluster;
  }

  @Interval(2_000)
  @ClusterSingleton(ReportJob.ELECTION)
  async report(): Promise<void> {
    const jobs = this.store.map<unknown>('jobs');
    const { value: runs } = await jobs.increment('demo-report:runs');
    await jobs.set('demo-report:last', {
      node: this.cluster.localStatus().nodeId,
      at: new Date().toISOString(),
      runs,
    });
  }
}
