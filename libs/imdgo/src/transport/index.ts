export { MemoryHub, MemoryTransport } from './memory-transport.ts';
export { MsgpackSocket, msgpackSocketClass, type MsgpackSocketOptions } from './msgpack-socket.ts';
export {
  NestTcpTransport,
  RAFT_PATTERN,
  REQUEST_PATTERN,
  type NestTcpTransportOptions,
} from './nest-tcp-transport.ts';
export { PeerTransportError, type PeerTransportErrorCode } from './peer-transport-error.ts';
export type { PeerTransport } from './peer-transport.ts';
