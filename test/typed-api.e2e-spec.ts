import { beforeAll, describe, expect, it } from 'vitest';
import { typeCheck, type TscError } from './support/type-check.ts';

/** The typed surface, as a user's tsc sees it: what must compile does, what must not is refused. */
const compiles = `
import { Injectable } from '@nestjs/common';
import { ImdgoMap, ImdgoStore, InjectMap, OnKeyChange, type ChangeEvent, type Entry } from 'imdgo';

interface User { name: string }

@Injectable()
export class Users {
  constructor(
    private readonly store: ImdgoStore,
    @InjectMap('users') private readonly users: ImdgoMap<User>,
  ) {}

  async names(): Promise<string[]> {
    const fromStore: User | undefined = await this.store.get<User>('user:1');
    const entry: Entry<User> | undefined = await this.store.getEntry<User>('user:1');
    const peeked: User | undefined = this.store.peek<User>('user:1');
    const fromMap: User | undefined = await this.users.get('u1');
    const page = await this.users.entries();
    return [fromStore?.name, entry?.value.name, peeked?.name, fromMap?.name, ...page.items.map((e) => e.value.name)]
      .filter((name): name is string => name !== undefined);
  }

  watchUsers(): void {
    this.users.watch('u*').subscribe((change: ChangeEvent<User>) => change.value?.name);
    this.users.changes$.subscribe((change: ChangeEvent<User>) => change.previous?.name);
  }

  @OnKeyChange({ map: 'users' })
  onUser(change: ChangeEvent<User>): string | undefined {
    return change.value?.name;
  }

  @OnKeyChange('user:*')
  async onAnything(change: ChangeEvent): Promise<void> {
    await Promise.resolve(change.revision);
  }
}
`;

const refused = `
import { ImdgoMap, OnKeyChange } from 'imdgo';

interface User { name: string }
declare const users: ImdgoMap<User>;

export class Handlers {
  @OnKeyChange('user:*')
  onNumber(count: number): number {
    return count;
  }
}

export async function misuse(): Promise<void> {
  await users.set('u1', { name: 42 });
  const name: number | undefined = (await users.get('u1'))?.name;
  void name;
}
`;

describe('typed API', () => {
  // One tsc run for both files: each run type-checks the whole library.
  let errors: TscError[];
  beforeAll(async () => {
    errors = await typeCheck({ 'compiles.ts': compiles, 'refused.ts': refused });
  }, 120_000);

  it('compiles typed reads, typed events, @InjectMap and typed @OnKeyChange handlers', () => {
    expect(errors.filter((e) => e.file !== 'refused.ts')).toEqual([]);
  });

  it('refuses a handler that takes no change event and values of the wrong type', () => {
    const refusals = errors.filter((e) => e.file === 'refused.ts');
    expect(refusals.map((e) => `${e.line} ${e.message.slice(0, 7)}`)).toEqual([
      '8 TS1241:',
      '15 TS2322:',
      '16 TS2322:',
    ]);
  });
});
