/**
 * The storage contract: one partition's log. The file backend
 * (FilePartitionStore) implements it; a replicated backend (NATS JetStream)
 * can implement it later. Nothing here knows about the network or protocol.
 */
export { StorageError, OffsetOutOfRangeError } from './errors.js';
export type { StorageErrorCode } from './errors.js';
export type { StorageConfig, FlushPolicy } from './config.js';
export { DEFAULT_STORAGE_CONFIG } from './config.js';

/** Offsets are JS numbers (safe integers). */
export interface AppendResult {
  /** Offset assigned to the first record of the first batch. */
  baseOffset: number;
  /** Offset of the last record of the last batch. */
  lastOffset: number;
}

export interface ReadResult {
  /**
   * Whole stored batches, in order, the first being the batch that contains
   * `offset` (it may start before `offset`); empty when offset >= highWatermark.
   */
  chunks: Buffer[];
  /** Total bytes in chunks. */
  bytes: number;
  logStartOffset: number;
  highWatermark: number;
}

export interface PartitionStore {
  readonly topic: string;
  readonly partition: number;
  /** First offset still stored (moves forward with retention). */
  logStartOffset(): number;
  /** Next offset to assign (with one replica, HW = LEO). */
  highWatermark(): number;
  /** Bytes stored (all segments). */
  sizeBytes(): number;
  /**
   * Assigns offsets (rewriting each batch's base_offset in place) and stores
   * the batches. Resolves once the bytes are written (and fsynced per policy);
   * concurrent calls are serialized in call order. The store owns the buffers
   * until the promise settles: do not modify them, and do not pass the same
   * memory twice (its base_offset would be overwritten).
   */
  append(batches: Buffer[]): Promise<AppendResult>;
  /**
   * At least one whole batch even if it exceeds maxBytes.
   * offset < logStartOffset or offset > highWatermark → OffsetOutOfRangeError.
   */
  read(offset: number, maxBytes: number): Promise<ReadResult>;
  /**
   * Synchronous notification after each durable append with the new high
   * watermark. Returns an unsubscribe function.
   */
  onAppend(listener: (highWatermark: number) => void): () => void;
  /** Flush, fsync, close files. */
  close(): Promise<void>;
}
