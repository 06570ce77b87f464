// Configuration shared by TopicSpec and PartitionSpec:
//
//   CompressionAlgorithm  u8 enum: 0 None, 1 Gzip, 2 Snappy, 3 Lz4, 4 Any (default), 5 Zstd
//   CleanupPolicy         enum u8: 0 Segment { time_in_seconds u32 }
//   TopicStorageConfig    segment_size Option<u32>, max_partition_size Option<u64>
//   Deduplication
//     bounds     count u64, age Option<Duration>
//     filter     transform { uses String, with BTreeMap<String, String> }

import { DecodeError, type Duration, type Reader, type Writer } from '../../codec.js';
import { decodeStringMap, encodeStringMap } from '../smartmodule-invocation.js';

export const CompressionAlgorithm = {
  None: 0,
  Gzip: 1,
  Snappy: 2,
  Lz4: 3,
  Any: 4,
  Zstd: 5,
} as const;

/** A topic's compression setting by name, as configs and CLIs spell it. */
export type TopicCompression = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd' | 'any';

const COMPRESSION_NAMES: Readonly<Record<number, TopicCompression>> = {
  [CompressionAlgorithm.None]: 'none',
  [CompressionAlgorithm.Gzip]: 'gzip',
  [CompressionAlgorithm.Snappy]: 'snappy',
  [CompressionAlgorithm.Lz4]: 'lz4',
  [CompressionAlgorithm.Any]: 'any',
  [CompressionAlgorithm.Zstd]: 'zstd',
};

export function topicCompressionName(code: number): TopicCompression | undefined {
  return COMPRESSION_NAMES[code];
}

export function topicCompressionCode(name: TopicCompression): number {
  const entry = Object.entries(COMPRESSION_NAMES).find(([, label]) => label === name);
  if (!entry) throw new RangeError(`unknown topic compression "${name}" (use none, gzip, snappy, lz4, zstd or any)`);
  return Number(entry[0]);
}

export type CleanupPolicy = { type: 'Segment'; timeInSeconds: number };

export interface TopicStorageConfig {
  segmentSize?: number;
  maxPartitionSize?: number;
}

export interface Deduplication {
  bounds: { count: number; age?: Duration };
  filter: { transform: { uses: string; with: Map<string, string> } };
}

export function encodeCompressionAlgorithm(w: Writer, algorithm: number): void {
  w.u8(algorithm);
}

export function decodeCompressionAlgorithm(r: Reader, field = 'compression_type'): number {
  const tag = r.u8(field);
  if (tag > CompressionAlgorithm.Zstd) throw new DecodeError(`${field}: unknown compression algorithm ${tag}`);
  return tag;
}

export function encodeCleanupPolicy(w: Writer, policy: CleanupPolicy): void {
  w.u8(0);
  w.u32(policy.timeInSeconds);
}

export function decodeCleanupPolicy(r: Reader, field = 'cleanup_policy'): CleanupPolicy {
  const tag = r.u8(`${field} tag`);
  if (tag !== 0) throw new DecodeError(`${field}: unknown variant tag ${tag}`);
  return { type: 'Segment', timeInSeconds: r.u32(`${field}.Segment.time_in_seconds`) };
}

export function encodeTopicStorageConfig(w: Writer, storage: TopicStorageConfig): void {
  w.optional(storage.segmentSize, (size) => w.u32(size));
  w.optional(storage.maxPartitionSize, (size) => w.u64(size));
}

export function decodeTopicStorageConfig(r: Reader, field = 'storage'): TopicStorageConfig {
  const segmentSize = r.optional(() => r.u32(`${field}.segment_size`), `${field}.segment_size`);
  const maxPartitionSize = r.optional(() => r.u64(`${field}.max_partition_size`), `${field}.max_partition_size`);
  const storage: TopicStorageConfig = {};
  if (segmentSize !== undefined) storage.segmentSize = segmentSize;
  if (maxPartitionSize !== undefined) storage.maxPartitionSize = maxPartitionSize;
  return storage;
}

export function encodeDeduplication(w: Writer, dedup: Deduplication): void {
  w.u64(dedup.bounds.count);
  w.optional(dedup.bounds.age, (age) => w.duration(age));
  w.string(dedup.filter.transform.uses);
  encodeStringMap(w, dedup.filter.transform.with);
}

export function decodeDeduplication(r: Reader, field = 'deduplication'): Deduplication {
  const count = r.u64(`${field}.bounds.count`);
  const age = r.optional(() => r.duration(`${field}.bounds.age`), `${field}.bounds.age`);
  const uses = r.string(`${field}.filter.transform.uses`);
  const withParams = decodeStringMap(r, `${field}.filter.transform.with`);
  return {
    bounds: age === undefined ? { count } : { count, age },
    filter: { transform: { uses, with: withParams } },
  };
}
