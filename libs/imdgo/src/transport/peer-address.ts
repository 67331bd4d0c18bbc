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
