import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import { TerminusModule } from '@nestjs/terminus';
import { ImdgoExceptionFilter, ImdgoModule, type ImdgoModuleOptions } from 'imdgo';
import { ImdgoMetrics } from 'imdgo/metrics';
import { ImdgoHealthIndicator } from 'imdgo/terminus';
import { ClusterController } from './cluster/cluster.controller.ts';
import type { DemoConfig } from './config/demo-config.ts';
import { DEMO_CONFIG, DemoConfigModule } from './config/demo-config.module.ts';
import { HealthController } from './health/health.controller.ts';
import { LocksController } from './locks/locks.controller.ts';
import { ReportJob } from './locks/report.job.ts';
import { KvController, MapsController } from './kv/kv.controllers.ts';
import { MetricsController } from './metrics/metrics.controller.ts';
import { WatchController } from './watch/watch.controller.ts';

/** One demo node: the imdgo store configured from DemoConfig, and its REST, SSE, health and metrics API. */
@Module({})
export class AppModule {
  static forRoot(config: DemoConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        DemoConfigModule.forRoot(config),
        ImdgoModule.forRootAsync({
          inject: [DEMO_CONFIG],
          useFactory: (demo: DemoConfig): ImdgoModuleOptions => ({
            members: demo.members,
            nodeId: demo.nodeId,
            ...demo.peer,
            ...demo.tuning,
            ...demo.grid,
          }),
        }),
        TerminusModule,
        ScheduleModule.forRoot(),
      ],
      controllers: [
        KvController,
        MapsController,
        WatchController,
        ClusterController,
        HealthController,
        MetricsController,
        LocksController,
      ],
      providers: [
        ImdgoHealthIndicator,
        ImdgoMetrics,
        ReportJob,
        { provide: APP_FILTER, useClass: ImdgoExceptionFilter },
      ],
    };
  }
}
