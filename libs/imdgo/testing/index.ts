// The `imdgo/testing` entry: helpers for an app's tests (needs `@nestjs/testing`).
export { freePort } from './free-port.ts';
export {
  IMDGO_TEST_TIMING,
  startImdgoCluster,
  type ImdgoTestCluster,
  type ImdgoTestClusterOptions,
  type ImdgoTestNode,
} from './start-cluster.ts';
export { ImdgoFaultInjector } from '../src/nest/imdgo-fault-injector.ts';
