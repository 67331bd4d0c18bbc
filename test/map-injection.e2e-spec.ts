import { Injectable, Module } from '@nestjs/common';
import {
  getMapToken,
  ImdgoMap,
  ImdgoModule,
  InjectMap,
  InvalidArgumentError,
  OnKeyChange,
  type ChangeEvent,
} from 'imdgo';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, waitFor, type TestCluster, type TestNode } from './support/cluster.ts';

interface User {
  readonly name: string;
}

@Injectable()
class Users {
  readonly renamed: ChangeEvent<User>[] = [];

  constructor(@InjectMap('users') readonly users: ImdgoMap<User>) {}

  async rename(id: string, name: string): Promise<string | undefined> {
    await this.users.set(id, { name });
    return (await this.users.get(id))?.name;
  }

  @OnKeyChange({ map: 'users', type: 'set' })
  onRename(change: ChangeEvent<User>): void {
    this.renamed.push(change);
  }
}

/** A feature module of its own, as an app would have: the maps are registered where they are used. */
@Module({ imports: [ImdgoModule.forFeature(['users', 'sessions'])], providers: [Users], exports: [Users] })
class UsersModule {}

describe('ImdgoModule.forFeature and @InjectMap', () => {
  let cluster: TestCluster;
  let node: TestNode;

  beforeAll(async () => {
    cluster = await startCluster(1, {}, { imports: [UsersModule] });
    node = cluster.nodes[0]!;
  });
  afterAll(async () => {
    await cluster.closeAll();
  });

  it('injects the named map, the same one the store hands out', async () => {
    const users = node.module.get(Users);
    expect(users.users).toBeInstanceOf(ImdgoMap);
    expect(users.users.name).toBe('users');
    expect(users.users).toBe(node.store.map('users'));
    expect(await users.rename('u1', 'Ada')).toBe('Ada');
    expect(await node.store.map<User>('users').get('u1')).toEqual({ name: 'Ada' });
    expect(await node.store.get('u1')).toBeUndefined();
    const event = await waitFor(() => users.renamed.find((e) => e.key === 'u1'), 'the rename event');
    expect(event.value?.name).toBe('Ada');
  });

  it('resolves every registered map by getMapToken', () => {
    const sessions = node.module.get<string, ImdgoMap>(getMapToken('sessions'), { strict: false });
    expect(sessions).toBe(node.store.map('sessions'));
  });

  it('refuses what is not a list of map names, saying so', () => {
    expect(() => ImdgoModule.forFeature([])).toThrow(InvalidArgumentError);
    expect(() => ImdgoModule.forFeature([''])).toThrow(/a map name is a non-empty string, got ""/);
    expect(() => ImdgoModule.forFeature('users' as unknown as string[])).toThrow(
      /non-empty array of map names, got "users"/,
    );
  });
});
