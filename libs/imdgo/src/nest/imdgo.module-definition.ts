import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { ImdgoModuleOptions } from './imdgo-options.ts';

export const {
  ConfigurableModuleClass: ImdgoConfigurableModule,
  MODULE_OPTIONS_TOKEN: IMDGO_MODULE_OPTIONS,
  OPTIONS_TYPE: IMDGO_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: IMDGO_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<ImdgoModuleOptions>({ moduleName: 'Imdgo' })
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: true }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();
