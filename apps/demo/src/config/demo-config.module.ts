import { Module, type DynamicModule } from '@nestjs/common';
import type { DemoConfig } from './demo-config.ts';

/** Injection token of the node's DemoConfig. */
export const DEMO_CONFIG = Symbol('DEMO_CONFIG');

/** Makes the node's DemoConfig injectable everywhere, the imdgo options factory included. */
@Module({})
export class DemoConfigModule {
  static forRoot(config: DemoConfig): DynamicModule {
    return {
      module: DemoConfigModule,
      global: true,
      providers: [{ provide: DEMO_CONFIG, useValue: config }],
      exports: [DEMO_CONFIG],
    };
  }
}
