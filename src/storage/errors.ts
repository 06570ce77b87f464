/** Errors raised by partition stores (any backend). */

export type StorageErrorCode =
  /** a batch handed to append() is malformed (length, magic, offsets delta) */
  | 'INVALID_BATCH'
  /** a batch is larger than StorageConfig.maxBatchSize */
  | 'BATCH_TOO_LARGE'
  /** writing to disk failed; the append was rolled back and the log is still usable */
  | 'WRITE_FAILED'
  /**
   * the disk (or the quota) is full (ENOSPC, EDQUOT): the append was rolled
   * back, everything acknowledged stays readable, and appends succeed again
   * by themselves once there is room
   */
  | 'NO_SPACE'
  /** the partition is failed (fsync failed, or a rollback failed); it refuses appends until reopened */
  | 'PARTITION_FAILED'
  /** the store is closed or closing */
  | 'CLOSED'
  /** stored bytes are inconsistent (detected on read) */
  | 'CORRUPT'
  /** invalid StorageConfig */
  | 'CONFIG'
  /** the partition directory is already open in this process */
  | 'ALREADY_OPEN'
  /** other I/O failure */
  | 'IO'
  /** a replicated backend cannot reach its servers now; the append may be retried */
  | 'UNAVAILABLE'
  /** another writer appended to the partition: this one no longer leads it and must not write */
  | 'FENCED';

export class StorageError extends Error {
  readonly code: StorageErrorCode;
  readonly topic: string | undefined;
  readonly partition: number | undefined;

  constructor(
    code: StorageErrorCode,
    message: string,
    options: { cause?: unknown; topic?: string; partition?: number } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StorageError';
    this.code = code;
    this.topic = options.topic;
    this.partition = options.partition;
  }
}

/**
 * A read asked for an offset that is not stored: below logStartOffset (deleted
 * by retention) or above highWatermark. The server clamps using the fields.
 */
export class OffsetOutOfRangeError extends Error {
  readonly offset: number;
  readonly logStartOffset: number;
  readonly highWatermark: number;

  constructor(offset: number, logStartOffset: number, highWatermark: number) {
    super(`offset ${offset} out of range [${logStartOffset}, ${highWatermark}]`);
    this.name = 'OffsetOutOfRangeError';
    this.offset = offset;
    this.logStartOffset = logStartOffset;
    this.highWatermark = highWatermark;
  }
}
