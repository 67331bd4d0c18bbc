import type { ImdgoModuleOptions } from 'imdgo';
import { parseArgs } from 'node:util';

/** How one demo node runs: its place in the cluster and where its HTTP API listens. */
export interface DemoConfig {
  /** This node's peer address (`host:port`); when absent the library picks the member that is this machine. */
  readonly nodeId: string | undefined;
  /** Every member's peer address, this node included. */
  readonly members: string[];
  readonly httpHost: string;
  readonly httpPort: number;
  /** Timing and limits of the library, for tests that need fast elections or small limits. */
  readonly tuning?: Pick<
    ImdgoModuleOptions,
    'tickMs' | 'electionTicks' | 'heartbeatTicks' | 'requestTimeoutMs' | 'maxValueBytes' | 'watchHistorySize'
  >;
}

export const DEMO_USAGE = `usage: main.js --members host:port,... [--id host:port] [--http-port 3000] [--http-host 127.0.0.1]
  (or the environment variables IMDGO_MEMBERS, IMDGO_NODE_ID, HTTP_PORT, HTTP_HOST; flags win)`;

/** Reads the command line, then the environment; throws with the usage text when something is wrong. */
export function readDemoConfig(argv: readonly string[], env: NodeJS.ProcessEnv): DemoConfig {
  const values = parseFlags(argv);
  const members = (values.members ?? env.IMDGO_MEMBERS ?? '')
    .split(',')
    .map((member) => member.trim())
    .filter((member) => member !== '');
  if (members.length === 0) throw new Error(`no members given\n${DEMO_USAGE}`);
  const port = values['http-port'] ?? (env.HTTP_PORT || '3000');
  const httpPort = Number(port);
  if (!Number.isInteger(httpPort) || httpPort < 0 || httpPort > 65_535) {
    throw new Error(`the HTTP port must be an integer in 0-65535, got "${port}"\n${DEMO_USAGE}`);
  }
  return {
    nodeId: values.id ?? (env.IMDGO_NODE_ID || undefined),
    members,
    httpHost: values['http-host'] ?? (env.HTTP_HOST || '127.0.0.1'),
    httpPort,
  };
}

function parseFlags(argv: readonly string[]) {
  try {
    return parseArgs({
      args: [...argv],
      options: {
        id: { type: 'string' },
        members: { type: 'string' },
        'http-port': { type: 'string' },
        'http-host': { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${DEMO_USAGE}`, { cause: error });
  }
}
