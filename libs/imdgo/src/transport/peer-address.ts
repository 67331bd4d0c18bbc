export interface PeerAddress {
  host: string;
  port: number;
}

/** Parses a peer id `host:port` (IPv6 hosts in brackets: `[::1]:4000`). */
export function parsePeerAddress(id: string): PeerAddress {
  const colon = id.lastIndexOf(':');
  const host = id.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const port = Number(id.slice(colon + 1));
  if (colon <= 0 || host === '' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`invalid peer id "${id}": expected host:port`);
  }
  return { host, port };
}

/** The longest member id accepted from a peer: a 253-character host name, a colon and a port. */
export const MAX_PEER_ID_LENGTH = 300;
/** Ids seen valid, so that the few a cluster's messages carry are not parsed again on every message. */
const validIds = new Set<string>();
const MAX_REMEMBERED_IDS = 256;

/** Whether `value` is a member id, `host:port`, as members are named everywhere (options, configurations, envelopes). */
export function isPeerId(value: unknown): value is string {
  if (typeof value !== 'string' || value.length > MAX_PEER_ID_LENGTH) return false;
  if (validIds.has(value)) return true;
  try {
    parsePeerAddress(value);
  } catch {
    return false;
  }
  // Bounded whatever a peer sends: valid ids beyond the bound start the set over.
  if (validIds.size >= MAX_REMEMBERED_IDS) validIds.clear();
  validIds.add(value);
  return true;
}
