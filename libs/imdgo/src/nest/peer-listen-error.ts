import { PeerListenError } from '../errors.ts';
import { hostOf } from './node-identity.ts';

/**
 * A PeerListenError that says what to change, when `error` is the peer server failing to listen; else null.
 * `bindHost` is the option (null: the host of this node's member id is bound).
 */
export function peerListenError(error: unknown, id: string, bindHost: string | null): PeerListenError | null {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code !== 'EADDRINUSE' && code !== 'EADDRNOTAVAIL' && code !== 'EACCES') return null;
  const port = id.slice(id.lastIndexOf(':') + 1);
  const host = bindHost ?? hostOf(id);
  const where = `${host}:${port}`;
  const hostSource = bindHost === null ? `the host of this node's id ${id}` : `bindHost "${bindHost}"`;
  const fix =
    code === 'EADDRINUSE'
      ? `peer port ${port} is already in use: another process (or a second ImdgoModule.forRoot with the same ` +
        `member) holds it; stop it, or give this node another port in nodeId and members`
      : code === 'EADDRNOTAVAIL'
        ? `${host} is not an address of this machine: set bindHost to one of its addresses (or 0.0.0.0)`
        : `listening on peer port ${port} is not permitted (ports below 1024 need privileges): use a port of 1024 or above`;
  return new PeerListenError(`imdgo cannot listen on ${where} (${hostSource}): ${fix}`, error);
}
