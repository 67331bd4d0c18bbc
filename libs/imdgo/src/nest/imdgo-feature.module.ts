import { Module, type DynamicModule, type FactoryProvider } from '@nestjs/common';
import { InvalidArgumentError } from '../errors.ts';
import type { ImdgoMap } from './imdgo-map.ts';
import { ImdgoStore } from './imdgo-store.ts';
import { getMapToken } from './inject-map.decorator.ts';

/**
 * Holds the map providers of `ImdgoModule.forFeature`: a module of its own, since giving them to ImdgoModule
 * would start a second node with them. It takes ImdgoStore from the global `forRoot` module.
 */
@Module({})
export class ImdgoFeatureModule {
  static register(names: readonly string[]): DynamicModule {
    if (!Array.isArray(names) || names.length === 0) {
      throw new InvalidArgumentError(
        `ImdgoModule.forFeature takes a non-empty array of map names, got ${JSON.stringify(names)}`,
      );
    }
    const providers = names.map((name): FactoryProvider<ImdgoMap> => ({
      provide: getMapToken(name),
      useFactory: (store: ImdgoStore) => store.map(name),
      inject: [ImdgoStore],
    }));
    return { module: ImdgoFeatureModule, providers, exports: providers };
  }
}
