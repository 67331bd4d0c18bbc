import { fromLayout, toLayout } from './wire-layout.ts';

/** Nest's request or event packet (ClientTCP), and its response packet (ServerTCP), positional on the wire. */
const REQUEST = ['pattern', 'data', 'id', 'metadata'];
const RESPONSE = ['id', 'err', 'response', 'isDisposed', 'status'];
const REQUEST_TAG = 0;
const RESPONSE_TAG = 1;

/** The positional form of a Nest packet, or null for an object with a key no Nest packet has. */
export function packetToWire(packet: Record<string, unknown>): unknown[] | null {
  return 'pattern' in packet
    ? toLayout(REQUEST_TAG, REQUEST, packet)
    : toLayout(RESPONSE_TAG, RESPONSE, packet);
}

/** The packet a frame body holds, or null when it is not a positional packet (the caller checks the rest). */
export function packetFromWire(value: unknown): Record<string, unknown> | null {
  if (!Array.isArray(value)) return null;
  const tag: unknown = value[0];
  if (tag === REQUEST_TAG) {
    const packet = fromLayout(REQUEST, value);
    return packet !== null && 'pattern' in packet ? packet : null;
  }
  if (tag === RESPONSE_TAG) return fromLayout(RESPONSE, value);
  return null;
}
