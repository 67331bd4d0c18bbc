import type { ImdgoModuleOptions } from 'imdgo';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

/** How one demo node runs: its place in the cluster and where its HTTP API listens. */
export interface DemoConfig {
  /** This node's peer address (`host:port`); when absent the library picks the member that is this machine. */
  readonly nodeId: string | undefined;
  /** Every member's peer address, this node included. */
  readonly members: string[];
  readonly httpHost: string;
  readonly httpPort: number;
  /** How the peer port is secured and where the node keeps its data; empty when nothing was asked for. */
  readonly peer?: Pick<ImdgoModuleOptions, 'clusterSecret' | 'tls' | 'dataDir'>;
  /** Timing and limits of the library, for tests that need fast elections or small limits. */
  readonly tuning?: Pick<
    ImdgoModuleOptions,
    'tickMs' | 'electionTicks' | 'heartbeatTicks' | 'requestTimeoutMs' | 'maxValueBytes' | 'watchHistorySize'
  >;
  /** Partitioned mode (ImdgoModule's `partitions` and `replicas`); absent when neither was asked for. */
  readonly grid?: GridConfig;
}

/** Declared here rather than picked from ImdgoModuleOptions so the demo builds with or without grid support. */
export interface GridConfig {
  readonly partitions?: number;
  readonly replicas?: number;
}

export const DEMO_USAGE = `usage: main.js --members host:port,... [--id host:port] [--http-port 3000] [--http-host 127.0.0.1]
               [--cluster-secret SECRET] [--tls-cert FILE --tls-key FILE --tls-ca FILE] [--data-dir DIR]
               [--partitions N] [--replicas N]
  (or the environment variables IMDGO_MEMBERS, IMDGO_NODE_ID, HTTP_PORT, HTTP_HOST, IMDGO_CLUSTER_SECRET,
   IMDGO_TLS_CERT, IMDGO_TLS_KEY, IMDGO_TLS_CA, IMDGO_DATA_DIR, IMDGO_PARTITIONS, IMDGO_REPLICAS; flags win. Prefer IMDGO_CLUSTER_SECRET to
   the flag: other users of the machine can read a process's command line)`;

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
  const dataDir = values['data-dir'] ?? (env.IMDGO_DATA_DIR || undefined);
  if (dataDir === '') throw new Error(`--data-dir needs a directory\n${DEMO_USAGE}`);
  const grid = gridConfig(
    values.partitions ?? (env.IMDGO_PARTITIONS || undefined),
    values.replicas ?? (env.IMDGO_REPLICAS || undefined),
  );
  return {
    nodeId: values.id ?? (env.IMDGO_NODE_ID || undefined),
    members,
    httpHost: values['http-host'] ?? (env.HTTP_HOST || '127.0.0.1'),
    httpPort,
    peer: {
      ...clusterSecret(values['cluster-secret'] ?? (env.IMDGO_CLUSTER_SECRET || undefined)),
      ...tls({
        cert: values['tls-cert'] ?? (env.IMDGO_TLS_CERT || undefined),
        key: values['tls-key'] ?? (env.IMDGO_TLS_KEY || undefined),
        ca: values['tls-ca'] ?? (env.IMDGO_TLS_CA || undefined),
      }),
      ...(dataDir === undefined ? {} : { dataDir }),
    },
    ...(grid === undefined ? {} : { grid }),
  };
}

/** Whole numbers from 1 (the library checks the upper bounds); undefined when neither is given. */
function gridConfig(partitions: string | undefined, replicas: string | undefined): GridConfig | undefined {
  if (partitions === undefined && replicas === undefined) return undefined;
  return {
    ...(partitions !== undefined && { partitions: wholeCount('partitions', partitions) }),
    ...(replicas !== undefined && { replicas: wholeCount('replicas', replicas) }),
  };
}

function wholeCount(name: string, text: string): number {
  if (!/^[1-9]\d*$/.test(text.trim())) {
    throw new Error(`--${name} must be a whole number from 1, got "${text}"\n${DEMO_USAGE}`);
  }
  return Number(text);
}

/** The library checks the secret's length too; checked here to fail before anything starts, without showing it. */
function clusterSecret(secret: string | undefined): Pick<ImdgoModuleOptions, 'clusterSecret'> {
  if (secret === undefined) return {};
  if (secret.length < 16) {
    throw new Error(
      `the cluster secret must have at least 16 characters (it has ${secret.length})\n${DEMO_USAGE}`,
    );
  }
  return { clusterSecret: secret };
}

/** All three PEM files or none; each read now, so that a wrong path fails with its flag named. */
function tls(files: { cert?: string; key?: string; ca?: string }): Pick<ImdgoModuleOptions, 'tls'> {
  const given = Object.entries(files).filter(([, path]) => path !== undefined);
  if (given.length === 0) return {};
  if (given.length < 3) {
    const missing = ['cert', 'key', 'ca'].filter((name) => files[name as keyof typeof files] === undefined);
    throw new Error(
      `TLS needs --tls-cert, --tls-key and --tls-ca together; missing ${missing.map((m) => `--tls-${m}`).join(', ')}\n${DEMO_USAGE}`,
    );
  }
  const read = (name: 'cert' | 'key' | 'ca'): string => {
    const path = files[name]!;
    try {
      return readFileSync(path, 'utf8');
    } catch (error) {
      throw new Error(`cannot read --tls-${name} "${path}": ${(error as Error).message}\n${DEMO_USAGE}`, {
        cause: error,
      });
    }
  };
  return { tls: { cert: read('cert'), key: read('key'), ca: read('ca') } };
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
        'cluster-secret': { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'tls-ca': { type: 'string' },
        'data-dir': { type: 'string' },
        partitions: { type: 'string' },
        replicas: { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${DEMO_USAGE}`, { cause: error });
  }
}
