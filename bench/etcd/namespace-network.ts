import { execFileSync } from 'node:child_process';

/**
 * Each etcd member in its own network namespace, attached by a veth pair to a bridge that the benchmark
 * process reaches too, so that one member's links can be cut (its bridge port set down) without any
 * connection closing: packets are dropped, as in a partition. Needs root (CAP_NET_ADMIN).
 */
export class NamespaceNetwork {
  /** Each member's address, reachable from this process. */
  readonly addresses: readonly string[];
  private readonly tag: string;
  private readonly size: number;
  private removed = false;

  constructor(size: number) {
    this.size = size;
    // Interface names are at most 15 characters; the pid keeps concurrent runs apart.
    this.tag = `ibe${process.pid % 100_000}`;
    const subnet = `10.231.${process.pid % 250}`;
    this.addresses = Array.from({ length: size }, (_, i) => `${subnet}.${i + 1}`);
    process.on('exit', () => this.remove());
    try {
      ip('link', 'add', this.bridge, 'type', 'bridge');
      ip('addr', 'add', `${subnet}.254/24`, 'dev', this.bridge);
      ip('link', 'set', this.bridge, 'up');
      for (let i = 0; i < size; i++) {
        const ns = this.namespace(i);
        ip('netns', 'add', ns);
        ip('link', 'add', this.hostEnd(i), 'type', 'veth', 'peer', 'name', `${this.tag}n${i}`);
        ip('link', 'set', `${this.tag}n${i}`, 'netns', ns);
        ip('link', 'set', this.hostEnd(i), 'master', this.bridge);
        ip('link', 'set', this.hostEnd(i), 'up');
        ip('-n', ns, 'addr', 'add', `${this.addresses[i]}/24`, 'dev', `${this.tag}n${i}`);
        ip('-n', ns, 'link', 'set', `${this.tag}n${i}`, 'up');
        ip('-n', ns, 'link', 'set', 'lo', 'up');
      }
    } catch (error) {
      this.remove();
      throw new Error(`cannot set up network namespaces (root needed): ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  /** The command and arguments that run `binary` inside member `i`'s namespace (exec: same pid). */
  command(i: number, binary: string, args: readonly string[]): [string, string[]] {
    return ['ip', ['netns', 'exec', this.namespace(i), binary, ...args]];
  }

  /** Drops everything to and from member `i`; its connections stay open. */
  cut(i: number): void {
    ip('link', 'set', this.hostEnd(i), 'down');
  }

  heal(): void {
    for (let i = 0; i < this.size; i++) ip('link', 'set', this.hostEnd(i), 'up');
  }

  remove(): void {
    if (this.removed) return;
    this.removed = true;
    for (let i = 0; i < this.size; i++) {
      quietly(() => ip('link', 'del', this.hostEnd(i)));
      quietly(() => ip('netns', 'del', this.namespace(i)));
    }
    quietly(() => ip('link', 'del', this.bridge));
  }

  private get bridge(): string {
    return `${this.tag}br`;
  }

  private hostEnd(i: number): string {
    return `${this.tag}h${i}`;
  }

  private namespace(i: number): string {
    return `imdgo-bench-${process.pid}-${i}`;
  }
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function quietly(run: () => void): void {
  try {
    run();
  } catch {
    // Already gone.
  }
}
