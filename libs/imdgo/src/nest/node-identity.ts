import { lookup } from 'node:dns/promises';
import { networkInterfaces } from 'node:os';
import { ImdgoOptionsError } from './imdgo-options.ts';

export function hostOf(member: string): string {
  const host = member.slice(0, member.lastIndexOf(':'));
  return host.startsWith('[') ? host.slice(1, -1) : host;
}

/**
 * Which member this process is, when `nodeId` is not given: the one member whose host resolves to an
 * address of this machine. Several such members (a local cluster) need an explicit `nodeId`.
 */
export async function resolveNodeId(members: readonly string[], nodeId: string | null): Promise<string> {
  if (nodeId !== null) return nodeId;
  const local = new Set<string>(['127.0.0.1', '::1']);
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) local.add(address.address);
  }
  const mine: string[] = [];
  for (const member of members) {
    const resolved = await lookup(hostOf(member), { all: true }).catch(() => []);
    if (resolved.some((r) => local.has(r.address))) mine.push(member);
  }
  if (mine.length === 1) return mine[0]!;
  if (mine.length === 0) {
    throw new ImdgoOptionsError(
      `invalid imdgo options: no member is an address of this machine; set nodeId (members: ${members.join(', ')})`,
    );
  }
  throw new ImdgoOptionsError(
    `invalid imdgo options: several members are on this machine (${mine.join(', ')}); set nodeId to one of them`,
  );
}
