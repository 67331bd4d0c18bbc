import { Module, type DynamicModule } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { ImdgoConfigurableModule } from './imdgo.module-definition.ts';
import { ImdgoRuntime } from './imdgo-runtime.ts';
import { ImdgoStore } from './imdgo-store.ts';
import { ImdgoCluster } from './imdgo-cluster.ts';
import { ImdgoFaultInjector } from './imdgo-fault-injector.ts';
import { KeyChangeExplorer } from './key-change.explorer.ts';
import { ImdgoFeatureModule } from './imdgo-feature.module.ts';

/**
 * `ImdgoModule.forRoot({ members })` or `forRootAsync({ useFactory, inject, imports })`. Global by default
 * (`isGlobal: false` to opt out): one node per application.
 */
@Module({
  imports: [DiscoveryModule],
  providers: [ImdgoRuntime, ImdgoStore, ImdgoCluster, ImdgoFaultInjector, KeyChangeExplorer],
  // ImdgoRuntime is what the opt-in providers of imdgo/terminus and imdgo/metrics inject.
  exports: [ImdgoStore, ImdgoCluster, ImdgoFaultInjector, ImdgoRuntime],
})
export class ImdgoModule extends ImdgoConfigurableModule {
  /** Registers named maps for `@InjectMap(name)` in the importing module (needs the global `forRoot`). */
  static forFeature(names: readonly string[]): DynamicModule {
    return ImdgoFeatureModule.register(names);
  }
}
