import { StorageError } from './errors.js';

/**
 * When appended bytes are made durable.
 * - `always`: group commit. Every append resolves only after an fsync covering
 *   its bytes; appends that arrive while a write+fsync is in flight are written
 *   together and share the next fsync.
 * - `interval`: appends resolve after write(); the active segment is fsynced
 *   every `intervalMs` when dirty (a crash can lose up to that window).
 * - `os`: never fsync explicitly except on close (and segment roll is not
 *   synced either); the OS page cache decides.
 */
export type FlushPolicy =
  | { kind: 'always' }
  | { kind: 'interval'; intervalMs: number }
  | { kind: 'os' };

export interface StorageConfig {
  /** Roll to a new segment when the active one would exceed this many bytes. Fluvio: 1 GiB. */
  segmentSize: number;
  /** Largest single stored batch accepted by append(). Fluvio's SPU: 32 MiB. */
  maxBatchSize: number;
  /** Closed segments whose newest batch timestamp is older than this are deleted. Fluvio: 7 days. */
  retentionMs: number;
  /** Oldest closed segments are deleted while the partition is larger than this. Fluvio: 100 GiB. */
  maxPartitionSize: number;
  /** Sparse offset index: one entry every this many bytes of log. Fluvio/Kafka: 4096. */
  indexIntervalBytes: number;
  flush: FlushPolicy;
  /** How often the store runs enforceRetention() by itself; 0 disables the timer. */
  retentionCheckIntervalMs: number;
  /** Closed segments kept open (file handle + loaded index) per partition. The active one is always open. */
  maxOpenSegments: number;
}

const GiB = 1024 * 1024 * 1024;
const MiB = 1024 * 1024;

/** Smallest segment size Fluvio accepts for a topic. */
export const MIN_SEGMENT_SIZE = 1024;
/** Positions in the index are u32, so a segment file must stay below 4 GiB. */
export const MAX_SEGMENT_SIZE = 0xffff_ffff;
/** Upper bound on maxBatchSize (a single batch is then at most 1 GiB). */
export const MAX_BATCH_SIZE_LIMIT = GiB;

export const DEFAULT_STORAGE_CONFIG: Readonly<StorageConfig> = Object.freeze({
  segmentSize: GiB,
  maxBatchSize: 32 * MiB,
  retentionMs: 7 * 24 * 3600 * 1000,
  maxPartitionSize: 100 * GiB,
  indexIntervalBytes: 4096,
  flush: Object.freeze({ kind: 'always' }) as FlushPolicy,
  retentionCheckIntervalMs: 60_000,
  maxOpenSegments: 16,
});

function bad(message: string): never {
  throw new StorageError('CONFIG', `invalid storage config: ${message}`);
}

function checkInt(name: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    bad(`${name} must be an integer in [${min}, ${max}], got ${value}`);
  }
}

/** Fills defaults and validates. Throws StorageError('CONFIG') on bad values. */
export function resolveStorageConfig(partial: Partial<StorageConfig> = {}): StorageConfig {
  const defined = Object.fromEntries(
    Object.entries(partial).filter(([, v]) => v !== undefined),
  ) as Partial<StorageConfig>;
  const c: StorageConfig = { ...DEFAULT_STORAGE_CONFIG, ...defined };
  checkInt('segmentSize', c.segmentSize, MIN_SEGMENT_SIZE, MAX_SEGMENT_SIZE);
  checkInt('maxBatchSize', c.maxBatchSize, 1, MAX_BATCH_SIZE_LIMIT);
  checkInt('indexIntervalBytes', c.indexIntervalBytes, 0, MAX_SEGMENT_SIZE);
  checkInt('retentionCheckIntervalMs', c.retentionCheckIntervalMs, 0, 0x7fff_ffff);
  checkInt('maxOpenSegments', c.maxOpenSegments, 1, 1 << 16);
  if (!(c.retentionMs >= 0)) bad(`retentionMs must be >= 0 (Infinity disables), got ${c.retentionMs}`);
  if (c.maxPartitionSize !== Infinity) {
    checkInt('maxPartitionSize', c.maxPartitionSize, c.segmentSize, Number.MAX_SAFE_INTEGER);
  }
  switch (c.flush.kind) {
    case 'always':
    case 'os':
      break;
    case 'interval':
      checkInt('flush.intervalMs', c.flush.intervalMs, 1, 0x7fff_ffff);
      break;
    default:
      bad(`unknown flush policy ${JSON.stringify(c.flush)}`);
  }
  return c;
}
