import { PeerTransportError } from '../transport/peer-transport-error.ts';
import type { PeerTransport } from '../transport/peer-transport.ts';

/**
 * The members (other than `self`) that do not answer a status request within `timeoutMs`. A follower never
 * talks to the other followers, so its Raft traffic cannot tell; a direct request can.
 */
export async function unreachableMembers(
  transport: PeerTransport,
  self: string,
  members: readonly string[],
  timeoutMs: number,
): Promise<string[]> {
  const others = members.filter((member) => member !== self);
  const answered = await Promise.all(
    others.map((member) =>
      transport.request(member, { kind: 'status' }, timeoutMs).then(
        () => true,
        // Any answer, even an error ('remote'), proves the member reachable.
        (error: unknown) => error instanceof PeerTransportError && error.code === 'remote',
      ),
    ),
  );
  return others.filter((_, i) => !answered[i]);
}
