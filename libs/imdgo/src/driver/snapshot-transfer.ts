import type { Logger } from '@nestjs/common';
import type { Raft } from '../raft/raft.ts';
import type { Message, NodeId, Snapshot, SnapshotMeta } from '../raft/types.ts';
import type { KvStateMachine } from '../state-machine/kv-state-machine.ts';
import { encodeImageChunks, type StateCapture } from '../state-machine/snapshot-image.ts';
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
  /** Bytes of the image up to the end of this chunk: the whole image's on the last one. */
  readonly total: number;
  readonly data: Uint8Array;
  readonly message?: Message;
}

const CHUNK_BYTES = 1024 * 1024;
/** Transfers report their progress in the log every this many bytes. */
const PROGRESS_BYTES = 64 * 1024 * 1024;
/** Records encoded between two yields to the event loop: a few milliseconds of work, so writes wait no longer. */
const IMAGE_ROWS_PER_TURN = 1_000;
const NO_IMAGE = new Uint8Array(0);

/**
 * A snapshot taken for a follower is kept this many `snapshotThreshold`s of entries in memory mode before
 * a newer snapshot replaces it, so that the core offers it to the follower first.
 */
const TRANSFER_HOLD_THRESHOLDS = 4;

/**
 * The newest snapshot, without its encoded image: a lagging follower is sent an image encoded chunk by
 * chunk from a frozen copy of the state, taken when a follower needs it. The copy shares the records with
 * the live maps (it costs their tables and the records overwritten since); an image would cost every key
 * and value again.
 */
interface HeldSnapshot {
  readonly meta: SnapshotMeta;
  /** The state at `meta.index`, kept while a follower may still ask for it; null: none kept. */
  readonly capture: StateCapture | null;
  /** The image's size, or the state's bytes where it was not encoded: paces the next snapshot. */
  readonly bytes: number;
}

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
  /** The newest snapshot this node holds (taken or installed): what lagging followers receive. */
  private latest: HeldSnapshot | null = null;
  /** The snapshot being taken, if any. */
  private taking: Promise<void> | null = null;
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

  /** The node started from a stored snapshot, which the state machine holds now. */
  restoredFrom(snapshot: Snapshot): void {
    this.latest = { meta: metaOf(snapshot), capture: null, bytes: snapshot.data.byteLength };
  }

  /** Counts applied log bytes, which pace the next snapshot. */
  applied(bytes: number): void {
    this.appliedBytesSinceSnapshot += bytes;
  }

  /**
   * Snapshots once `snapshotThreshold` entries were applied since the last one. A storage that keeps
   * images also waits until the log since then is at least as large as the last image: encoding a large
   * state every few thousand small writes would cost more than the log it saves. In memory mode a
   * snapshot copies and encodes nothing (the live state machine is the snapshot; only the log is
   * compacted), so it follows every `snapshotThreshold` entries.
   */
  maybeSnapshot(): Promise<void> | null {
    const since = this.host.machine().appliedIndex - (this.latest?.meta.index ?? 0);
    const threshold = this.host.snapshotThreshold;
    if (this.taking || since < threshold) return null;
    if (this.host.storage.keepsSnapshotImages === false) {
      if (this.latest?.capture && since < TRANSFER_HOLD_THRESHOLDS * threshold) return null;
    } else if (this.appliedBytesSinceSnapshot < (this.latest?.bytes ?? 0)) {
      return null;
    }
    this.appliedBytesSinceSnapshot = 0;
    return this.snapshot(false);
  }

  /** Takes a snapshot now; `forTransfer` keeps a frozen copy of the state for a follower. */
  private snapshot(forTransfer: boolean): Promise<void> {
    this.taking = this.take(forTransfer)
      .catch((error: unknown) => {
        // The log still holds everything the image would: a failed snapshot only postpones compaction.
        this.host.logger.error(`snapshot failed: ${(error as Error).stack ?? error}`);
      })
      .finally(() => {
        this.taking = null;
      });
    return this.taking;
  }

  /**
   * Streams the latest snapshot to a follower, encoding its image chunk by chunk as they are sent (one at a
   * time), then steps the message into the follower's core with the last chunk.
   */
  async stream(message: Message & { type: 'snapshot' }): Promise<void> {
    const { host } = this;
    const to = message.to;
    const held = this.latest;
    if (this.outgoing.has(to)) return;
    const capture = held?.meta.index === message.snapshot.index ? held.capture : null;
    if (!capture) {
      // Produced on demand: the core offers this newer snapshot at its next attempt. The failure is reported
      // once it is taken: reported at once, the core would ask again in the same turn, and again, while the
      // snapshot under way never got a turn to finish (the driver simulator hung so, seed 3).
      this.outgoing.add(to);
      try {
        await (this.taking ?? this.snapshot(true));
      } finally {
        this.outgoing.delete(to);
      }
      if (host.isStopped()) return;
      host.raft().reportSnapshot(to, false);
      host.schedule();
      return;
    }
    this.outgoing.add(to);
    const { index, term } = held!.meta;
    let sent = 0;
    let ok = false;
    try {
      let reported = 0;
      const slices = imageSlices(capture, CHUNK_BYTES);
      let next = slices.next();
      while (!next.done) {
        const data = next.value;
        next = slices.next();
        const chunk: SnapshotChunk = {
          kind: 'snapshot-chunk',
          index,
          term,
          offset: sent,
          total: sent + data.byteLength,
          data,
          message: next.done ? message : undefined,
        };
        await host.transport.request(to, chunk, host.requestTimeoutMs);
        sent = chunk.total;
        if (sent - reported >= PROGRESS_BYTES) {
          reported = sent;
          host.logger.log(`snapshot ${index} to ${to}: ${Math.round(sent / 1e6)} MB sent`);
        }
      }
      ok = true;
      host.observer.snapshotTransferred('sent', sent);
    } catch (error) {
      host.logger.warn(`snapshot ${index} to ${to} failed: ${(error as Error).message}`);
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
    // Members of other releases are refused at the handshake: every chunk's `total` ends where it does.
    if (incoming.received !== chunk.total) throw new Error('snapshot chunk does not end where announced');
    if (chunk.message !== undefined) {
      const message = toRaftMessage(chunk.message);
      if (!message || message.type !== 'snapshot' || message.from !== from) {
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
    await host.storage.saveSnapshot({ ...meta, data: this.storedImage(data) }, false);
    host.machine().restore(data);
    this.latest = { meta: metaOf(meta), capture: null, bytes: data.byteLength };
    host.observer.snapshotTransferred('installed', data.byteLength);
    host.logger.log(`installed snapshot at index ${meta.index} (${data.byteLength} bytes)`);
  }

  /**
   * Whether the snapshot held now is newer than one taken at `index`: a snapshot installed while it was
   * encoded. The older one must not replace it, or followers would be offered one no longer held. One at
   * the same index does (it is the same state), as when a follower's transfer needs a copy of it.
   */
  private supersedes(index: number): boolean {
    return this.latest !== null && this.latest.meta.index > index;
  }

  /** A storage that does not outlive the process (memory mode) is given no image: nothing would read it. */
  private storedImage(image: Uint8Array): Uint8Array {
    return this.host.storage.keepsSnapshotImages === false ? NO_IMAGE : image;
  }

  private async take(forTransfer: boolean): Promise<void> {
    const { host } = this;
    const machine = host.machine();
    // A snapshot from the leader is being installed: the image taken here is already older than the log.
    if (!host.raft().canSnapshotAt(machine.appliedIndex)) return;
    const meta = host.raft().snapshotMeta(machine.appliedIndex);
    const keepsImages = host.storage.keepsSnapshotImages !== false;
    const capture = forTransfer || keepsImages ? machine.capture() : null;
    const stateBytes = machine.dataBytes;
    const started = host.scheduler.monotonic();
    let data = NO_IMAGE;
    if (capture && keepsImages) {
      const chunks: Uint8Array[] = [];
      for (const chunk of encodeImageChunks(capture, IMAGE_ROWS_PER_TURN)) {
        chunks.push(chunk);
        // Writes keep flowing while a large image is encoded.
        await new Promise<void>((resolve) => host.scheduler.defer(resolve));
      }
      data = Buffer.concat(chunks);
    }
    const snapshot: Snapshot = { ...meta, data };
    if (this.supersedes(meta.index)) return;
    try {
      await host.storage.saveSnapshot(snapshot, true);
    } catch (error) {
      host.logger.error(`snapshot at ${meta.index} could not be saved: ${(error as Error).message}`);
      return;
    }
    if (host.isStopped() || this.supersedes(meta.index)) return;
    const bytes = data === NO_IMAGE ? stateBytes : data.byteLength;
    this.latest = { meta: metaOf(meta), capture: forTransfer ? capture : null, bytes };
    host.raft().snapshotTaken(meta.index);
    // A memory-mode snapshot that copied nothing is too frequent and too cheap to be worth a line.
    if (!capture) return;
    host.logger.log(
      `snapshot at index ${meta.index}: ${bytes} bytes in ${(host.scheduler.monotonic() - started).toFixed(0)} ms`,
    );
  }
}

/** The metadata alone, so that a held snapshot keeps no image alive. */
function metaOf({ index, term, config }: SnapshotMeta): SnapshotMeta {
  return { index, term, config };
}

/** The image of `capture` in pieces of `bytes` (the last one shorter), encoded as they are asked for. */
function* imageSlices(capture: StateCapture, bytes: number): Generator<Uint8Array> {
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  for (const encoded of encodeImageChunks(capture)) {
    pending.push(encoded);
    pendingBytes += encoded.byteLength;
    while (pendingBytes >= bytes) {
      const joined = Buffer.concat(pending);
      yield joined.subarray(0, bytes);
      pending = [joined.subarray(bytes)];
      pendingBytes -= bytes;
    }
  }
  if (pendingBytes > 0 || pending.length === 0) yield Buffer.concat(pending);
}

function isIndex(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
