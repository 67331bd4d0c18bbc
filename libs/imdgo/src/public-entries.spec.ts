import { MODULE_METADATA } from '@nestjs/common/constants.js';
import { describe, expect, it } from 'vitest';
import * as testing from '../testing/index.ts';
import * as main from './index.ts';
import { ImdgoFaultInjector } from './nest/imdgo-fault-injector.ts';
import { ImdgoModule } from './nest/imdgo.module.ts';

/** The providers ImdgoModule creates for itself, by name. */
function moduleProviders(): Map<unknown, string> {
  const providers = Reflect.getMetadata(MODULE_METADATA.PROVIDERS, ImdgoModule) as { name: string }[];
  return new Map(providers.map((provider) => [provider, provider.name]));
}

describe('the package entries', () => {
  it('give the main entry only the providers an app injects, not the internal ones', () => {
    const providers = moduleProviders();
    // The runtime, the fault injector and the explorers must be present for this test to mean anything.
    expect(providers.size).toBeGreaterThan(4);
    const exported = Object.values(main)
      .filter((value) => providers.has(value))
      .map((value) => providers.get(value));
    expect(exported.sort()).toEqual(['ImdgoCluster', 'ImdgoStore']);
  });

  it('give tests the fault injector through imdgo/testing', () => {
    expect(testing.ImdgoFaultInjector).toBe(ImdgoFaultInjector);
  });
});
