/** Public API of the storage layer. */
export type { AppendResult, ReadResult, PartitionStore } from './partition-store.js';
export { StorageError, OffsetOutOfRangeError } from './errors.js';
export type { StorageErrorCode } from './errors.js';
export {
  DEFAULT_STORAGE_CONFIG,
  MIN_SEGMENT_SIZE,
  MAX_SEGMENT_SIZE,
  resolveStorageConfig,
} from './config.js';
export type { StorageConfig, FlushPolicy } from './config.js';
export { FilePartitionStore } from './file-partition-store.js';
export type { StorageLogger } from './file-partition-store.js';
export type { StorageHooks, StorageMutation, StorageStats, WriteContext } from './io.js';
