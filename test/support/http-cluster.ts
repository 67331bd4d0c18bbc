import 'reflect-metadata';
import type { INestApplication, ModuleMetadata } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ImdgoModule, ImdgoStore, type ImdgoModuleOptions } from 'imdgo';
import { ImdgoRuntime } from '../../libs/imdgo/src/nest/imdgo-runtime.ts';
import { freePort } from '../../libs/imdgo/testing/free-port.ts';
import { TEST_TIMING, waitFor } from './cluster.ts';
import { testLogger } from './quiet-logs.ts';

export interface HttpNode {
  readonly id: string;
  readonly app: INestApplication;
  readonly url: string;
  readonly store: ImdgoStore;
  readonly runtime: ImdgoRuntime;
}

/**
 * `size` Nest HTTP apps in this process, each with imdgo (forming one cluster) and `metadata` (the
 * integration under test: its modules, controllers and providers), listening on a loopback port.
 */
export async function startHttpCluster(
  size: number,
  metadata: ModuleMetadata,
  options: Partial<ImdgoModuleOptions> = {},
): Promise<HttpNode[]> {
  const members = (await Promise.all(Array.from({ length: size }, () => freePort()))).map(
    (port) => `127.0.0.1:${port}`,
  );
  const nodes = await Promise.all(
    members.map(async (id): Promise<HttpNode> => {
      const module = await Test.createTestingModule({
        ...metadata,
        imports: [
          ImdgoModule.forRoot({ members, nodeId: id, ...TEST_TIMING, ...options }),
          ...(metadata.imports ?? []),
        ],
      })
        .setLogger(testLogger())
        .compile();
      const app = module.createNestApplication({ logger: false });
      await app.listen(0, '127.0.0.1');
      const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
      return { id, app, url, store: app.get(ImdgoStore), runtime: app.get(ImdgoRuntime) };
    }),
  );
  await waitFor(() => nodes.some((node) => node.runtime.node.isLeader()), 'a leader', 15_000);
  return nodes;
}

export async function closeHttpCluster(nodes: readonly HttpNode[]): Promise<void> {
  await Promise.all(nodes.map((node) => node.app.close()));
}
