import type { Logger } from '@nestjs/common';
import type { Raft } from '../raft/raft.ts';
import type { Message, NodeId, Snapshot, SnapshotMeta } from '../raft/types.ts';
import type { KvStateMachine } from '../state-machine/kv-state-machine.ts';
import { encodeImageChunks } from '../state-machine/snapshot-image.ts';
import type { RaftStorage } from '../storage/raft-storage.ts';
import type { PeerTransport } from '../transport/peer-transport.ts';
import type { NodeObserver } from './node-observer.ts';
import type { Scheduler } from './scheduler.ts';
import { toRaftMessage } from './wire-validation.ts';

/** One piece of a snapshot image on its way to a follower; the last piece carries the Raft message. */
export interface SnapshotChunk {
  readonly kind: 'snapshot-chunk';
  readonly index: number;
  readonly term: number;
  readonly offset: number;
  readonly total: number;
  readonly data: Uint8Array;
  readonly message?: Message;
}

const CHUNK_BYTES = 1024 * 1024;
/** Above this size, transfers report their progress in the log. */
const PROGRESS_BYTES = 16 * 1024 * 1024;
/** Records encoded between two yields to the event loop: a few milliseconds of work, so writes wait no longer. */
const IMAGE_ROWS_PER_TURN = 1_000;

/** What the snapshot machinery needs of the node driver. */
export interface SnapshotHost {
  raft(): Raft;
  readonly machine: () => KvStateMachine;
  readonly storage: RaftStorage;
  readonly transport: PeerTransport;
  readonly logger: Logger;
  readonly observer: NodeObserver;
  readonly requestTimeoutMs: number;
  readonly snapshotThreshold: number;
  isStopped(): boolean;
  schedule(): void;
  readonly scheduler: Scheduler;
}

/**
 * Snapshots beside the core: taking them without stopping writes, streaming the image to a lagging
 * follower in chunks, receiving one, and installing it when the core says so.
 */
export class SnapshotTransfer {
  /** The newest image this node holds (taken or installed): what lagging followers receive. */
  private latestImage: Snapshot | null = null;
  private snapshotting = false;
  private appliedBytesSinceSnapshot = 0;
  private readonly outgoing = new Set<NodeId>();
  private incoming: {
    from: NodeId;
    index: number;
    term: number;
    parts: Uint8Array[];
    received: number;
  } | null = null;
  /** The received image the core chose to restore at its next Ready (its `pendingRestore`). */
  private receivedImage: Snapshot | null = null;
  private readonly host: SnapshotHost;

  constructor(host: SnapshotHost) {
    this.host = host;
  }

  /** The node started from a stored snapshot. */
  restoredFrom(snapshot: Snapshot): void {
    this.latestImage = snapshot;
  }

  /** Counts applied log bytes, which pace the next snapshot. */
  applied(bytes: number): void {
    this.appliedBytesSinceSnapshot += bytes;
  }

  /**
   * Snapshots once `snapshotThreshold` entries were applied since the last one, and once the log since
   * then is at least as large as the last image: encoding a large state every few thousand small writes
   * would cost more than the log it saves.
   */
  maybeSnapshot(): Promise<void> | null {
    const since = this.host.machine().appliedIndex - (this.latestImage?.index ?? 0);
    if (this.snapshotting || since < this.host.snapshotThreshold) return null;
    if (this.appliedBytesSinceSnapshot < (this.latestImage?.data.byteLength ?? 0)) return null;
    this.appliedBytesSinceSnapshot = 0;
    this.snapshotting = true;
    return this.take()
      .catch((error: unknown) => {
        // The log still holds everything the image would: a failed snapshot only postpones compaction.
        this.host.logger.error(`snapshot failed: ${(error as Error).stack ?? error}`);
      })
      .finally(() => {
        this.snapshotting = false;
      });
  }

  /** Streams the latest image to a follower in chunks, one at a time, then steps the message into its core. */
  async stream(message: Message & { type: 'snapshot' }): Promise<void> {
    const { host } = this;
    const to = message.to;
    const image = this.latestImage;
    if (this.outgoing.has(to)) return;
    if (!image || image.index !== message.snapshot.index) {
      host.raft().reportSnapshot(to, false);
      return;
    }
    this.outgoing.add(to);
    const total = image.data.byteLength;
    let ok = false;
    try {
      let reported = 0;
      for (let offset = 0; offset < total || offset === 0; offset += CHUNK_BYTES) {
        const end = Math.min(total, offset + CHUNK_BYTES);
        const last = end === total;
        const chunk: SnapshotChunk = {
          kind: 'snapshot-chunk',
          index: image.index,
          term: image.term,
          offset,
          total,
          data: image.data.subarray(offset, end),
          message: last ? message : undefined,
        };
        await host.transport.request(to, chunk, host.requestTimeoutMs);
        if (total > PROGRESS_BYTES && end - reported >= total / 10) {
          reported = end;
          host.logger.log(`snapshot ${image.index} to ${to}: ${Math.round((end / total) * 100)}%`);
        }
        if (last) break;
      }
      ok = true;
      host.observer.snapshotTransferred('sent', total);
    } catch (error) {
      host.logger.warn(`snapshot ${image.index} to ${to} failed: ${(error as Error).message}`);
    } finally {
      this.outgoing.delete(to);
    }
    if (host.isStopped()) return;
    host.raft().reportSnapshot(to, ok);
    host.schedule();
  }

  receiveChunk(from: NodeId, chunk: SnapshotChunk): { received: number } {
    if (
      !isIndex(chunk.index) ||
      !isIndex(chunk.offset) ||
      !isIndex(chunk.total) ||
      !(chunk.data instanceof Uint8Array)
    ) {
      throw new Error('malformed snapshot chunk');
    }
    if (chunk.offset === 0) {
      this.incoming = { from, index: chunk.index, term: chunk.term, parts: [], received: 0 };
    }
    const incoming = this.incoming;
    if (
      !incoming ||
      incoming.from !== from ||
      incoming.index !== chunk.index ||
      incoming.received !== chunk.offset
    ) {
      throw new Error(`snapshot chunk out of order (offset ${chunk.offset})`);
    }
    incoming.parts.push(chunk.data);
    incoming.received += chunk.data.byteLength;
    if (incoming.received > chunk.total) throw new Error('snapshot larger than announced');
    if (chunk.message !== undefined) {
      const message = toRaftMessage(chunk.message);
      if (
        !message ||
        message.type !== 'snapshot' ||
        incoming.received !== chunk.total ||
        message.from !== from
      ) {
        throw new Error('malformed final snapshot chunk');
      }
      this.incoming = null;
      const raft = this.host.raft();
      raft.step(message);
      // Keep the image only if the core will restore it. A stale snapshot (at or below the commit index,
      // e.g. a late transfer from an earlier leader) is ignored by the core and must not replace the image
      // of the snapshot it is about to install.
      const pending = raft.pendingRestore;
      if (pending?.index === message.snapshot.index && pending.term === message.snapshot.term) {
        this.receivedImage = { ...pending, data: Buffer.concat(incoming.parts) };
      }
      this.host.schedule();
    }
    return { received: incoming.received };
  }

  /** The core replaced its log with a snapshot from the leader: the state machine follows, durably. */
  async install(meta: SnapshotMeta): Promise<void> {
    const { host } = this;
    const received = this.receivedImage;
    this.receivedImage = null;
    const data = received?.index === meta.index && received.term === meta.term ? received.data : null;
    if (!data) throw new Error(`snapshot ${meta.index} was installed by the core but its image is missing`);
    const snapshot: Snapshot = { ...meta, data };
    await host.storage.saveSnapshot(snapshot, false);
    host.machine().restore(data);
    this.latestImage = snapshot;
    host.observer.snapshotTransferred('installed', data.byteLength);
    host.logger.log(`installed snapshot at index ${meta.index} (${data.byteLength} bytes)`);
  }

  /**
   * Whether the image held now is at least as new as one taken at `index`: a snapshot installed while it
   * was encoded. The older image must not replace it, or followers would be offered one no longer held.
   */
  private supersedes(index: number): boolean {
    return this.latestImage !== null && this.latestImage.index >= index;
  }

  private async take(): Promise<void> {
    const { host } = this;
    const capture = host.machine().capture();
    // A snapshot from the leader is being installed: the image taken here is already older than the log.
    if (!host.raft().canSnapshotAt(capture.appliedIndex)) return;
    const meta = host.raft().snapshotMeta(capture.appliedIndex);
    const started = host.scheduler.monotonic();
    const chunks: Uint8Array[] = [];
    for (const chunk of encodeImageChunks(capture, IMAGE_ROWS_PER_TURN)) {
      chunks.push(chunk);
      // Writes keep flowing while a large image is encoded.
      await new Promise<void>((resolve) => host.scheduler.defer(resolve));
    }
    const snapshot: Snapshot = { ...meta, data: Buffer.concat(chunks) };
    if (this.supersedes(meta.index)) return;
    try {
      await host.storage.saveSnapshot(snapshot, true);
    } catch (error) {
      host.logger.error(`snapshot at ${meta.index} could not be saved: ${(error as Error).message}`);
      return;
    }
    if (host.isStopped() || this.supersedes(meta.index)) return;
    this.latestImage = snapshot;
    host.raft().snapshotTaken(meta.index);
    host.logger.log(
      `snapshot at index ${meta.index}: ${snapshot.data.byteLength} bytes in ${(host.scheduler.monotonic() - started).toFixed(0)} ms`,
    );
  }
}

function isIndex(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
