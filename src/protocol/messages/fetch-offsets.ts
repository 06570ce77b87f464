// FetchOffsets (SPU key 1002), used at v23.
//
// Request:
//   topics         Vec<{name String, partitions Vec<{partition_index u32}>}>
//   consumer_id    Option<String>   v >= 23
//
// Response:
//   topics         Vec<{name String, partitions Vec<FetchOffsetPartitionResponse>}>
//     error_code          ErrorCode   (first, unlike most partition entries)
//     partition_index     u32
//     start_offset        i64
//     last_stable_offset  i64

import type { Reader, Writer } from '../codec.js';
import { decodeErrorCode, encodeErrorCode, type FluvioError } from '../error-code.js';

export const FETCH_OFFSETS_CONSUMER_ID_VERSION = 23;

export interface FetchOffsetTopic {
  name: string;
  partitions: { partitionIndex: number }[];
}

export interface FetchOffsetsRequest {
  topics: FetchOffsetTopic[];
  consumerId?: string;
}

export interface FetchOffsetPartitionResponse {
  errorCode: FluvioError;
  partitionIndex: number;
  startOffset: number;
  lastStableOffset: number;
}

export interface FetchOffsetTopicResponse {
  name: string;
  partitions: FetchOffsetPartitionResponse[];
}

export interface FetchOffsetsResponse {
  topics: FetchOffsetTopicResponse[];
}

export function encodeFetchOffsetsRequest(w: Writer, req: FetchOffsetsRequest, version: number): void {
  w.array(req.topics, (topic) => {
    w.string(topic.name);
    w.array(topic.partitions, (partition) => w.u32(partition.partitionIndex));
  });
  if (version >= FETCH_OFFSETS_CONSUMER_ID_VERSION) w.optional(req.consumerId, (id) => w.string(id));
}

export function decodeFetchOffsetsRequest(r: Reader, version: number): FetchOffsetsRequest {
  const topics = r.array(
    (): FetchOffsetTopic => {
      const name = r.string('topics.name');
      const partitions = r.array(
        () => ({ partitionIndex: r.u32('topics.partitions.partition_index') }),
        'topics.partitions',
        4,
      );
      return { name, partitions };
    },
    'topics',
    6,
  );
  if (version < FETCH_OFFSETS_CONSUMER_ID_VERSION) return { topics };
  const consumerId = r.optional(() => r.string('consumer_id'), 'consumer_id');
  return consumerId === undefined ? { topics } : { topics, consumerId };
}

export function encodeFetchOffsetsResponse(w: Writer, res: FetchOffsetsResponse, _version: number): void {
  w.array(res.topics, (topic) => {
    w.string(topic.name);
    w.array(topic.partitions, (partition) => {
      encodeErrorCode(w, partition.errorCode);
      w.u32(partition.partitionIndex);
      w.i64(partition.startOffset);
      w.i64(partition.lastStableOffset);
    });
  });
}

export function decodeFetchOffsetsResponse(r: Reader, _version: number): FetchOffsetsResponse {
  const topics = r.array(
    (): FetchOffsetTopicResponse => {
      const name = r.string('topics.name');
      const partitions = r.array(
        (): FetchOffsetPartitionResponse => {
          const errorCode = decodeErrorCode(r, 'topics.partitions.error_code');
          const partitionIndex = r.u32('topics.partitions.partition_index');
          const startOffset = r.i64('topics.partitions.start_offset');
          const lastStableOffset = r.i64('topics.partitions.last_stable_offset');
          return { errorCode, partitionIndex, startOffset, lastStableOffset };
        },
        'topics.partitions',
        22,
      );
      return { name, partitions };
    },
    'topics',
    6,
  );
  return { topics };
}
