import { Injectable, Module, type DynamicModule, type Type } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { getMapToken, ImdgoMap, ImdgoModule, ImdgoStore, InjectMap } from 'imdgo';
import { freePort } from 'imdgo/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { TEST_TIMING } from './support/cluster.ts';
import { testLogger } from './support/quiet-logs.ts';

@Injectable()
class UsesStore {
  constructor(readonly store: ImdgoStore) {}
}

@Injectable()
class UsesMap {
  constructor(@InjectMap('users') readonly users: ImdgoMap) {}
}

/** A feature module that does not import ImdgoModule.forRoot itself. */
@Module({ providers: [UsesStore], exports: [UsesStore] })
class StoreFeature {}

@Module({ imports: [ImdgoModule.forFeature(['users'])], providers: [UsesMap] })
class MapFeature {}

const modules: TestingModule[] = [];

async function compile(
  root: DynamicModule,
  features: Type[],
  providers: Type[] = [],
): Promise<TestingModule> {
  const module = await Test.createTestingModule({ imports: [root, ...features], providers })
    .setLogger(testLogger())
    .compile();
  modules.push(module);
  return module;
}

async function forRoot(extra: { isGlobal?: boolean } = {}): Promise<DynamicModule> {
  const member = `127.0.0.1:${await freePort()}`;
  return ImdgoModule.forRoot({ members: [member], nodeId: member, ...TEST_TIMING, ...extra });
}

afterEach(async () => {
  await Promise.all(modules.splice(0).map((module) => module.close()));
});

describe('ImdgoModule scope (isGlobal)', () => {
  it('is global by default: a module that does not import it injects the store and its maps', async () => {
    const module = await compile(await forRoot(), [StoreFeature, MapFeature]);
    await module.init();
    const { store } = module.get(UsesStore);
    await store.set('k', 'v');
    expect(await store.get('k')).toBe('v');
    expect(module.get(UsesMap).users).toBe(store.map('users'));
  });

  it('with isGlobal: false, serves only the module that imports it', async () => {
    const root = await forRoot({ isGlobal: false });
    const module = await compile(root, [], [UsesStore]);
    await module.init();
    await module.get(UsesStore).store.set('k', 'v');
    expect(await module.get(UsesStore).store.get('k')).toBe('v');

    await expect(compile(await forRoot({ isGlobal: false }), [StoreFeature])).rejects.toThrow(
      /resolve dependencies of the UsesStore \(\?\)[\s\S]*ImdgoStore at index \[0\][\s\S]*StoreFeature/,
    );
    await expect(compile(await forRoot({ isGlobal: false }), [MapFeature])).rejects.toThrow(
      `resolve dependencies of the ${getMapToken('users')} (?)`,
    );
  });
});
