import { kafka, parseBatchHeader, splitRecordSetLenient } from '../../protocol/index.js';
import type { PartitionStore } from '../../storage/index.js';
import type { KafkaContext } from './context.js';

const { KafkaError, asKafkaBatch, decodeKafkaBatch } = kafka;
type ListOffsetsRequestData = kafka.ListOffsetsRequestData;

const LATEST = -1;
const EARLIEST = -2;
const MAX_TIMESTAMP = -3;
const SCAN_READ_BYTES = 1024 * 1024;

/**
 * The first offset whose record timestamp is at or after `timestamp` (or, for
 * MAX_TIMESTAMP, the record with the largest timestamp): a scan of the batch
 * headers, decoding only the batch where the answer lies. The log has no time
 * index, so this reads the partition once.
 */
async function offsetForTimestamp(store: PartitionStore, timestamp: number): Promise<{ offset: number; timestamp: number }> {
  let offset = store.logStartOffset();
  let best = { offset: -1, timestamp: -1 };
  while (offset < store.highWatermark()) {
    const read = await store.read(offset, SCAN_READ_BYTES);
    if (read.chunks.length === 0) break;
    for (const batch of read.chunks.flatMap((chunk) => splitRecordSetLenient(chunk))) {
      const header = parseBatchHeader(batch, 0);
      const end = header.baseOffset + header.lastOffsetDelta + 1;
      if (end <= offset) continue;
      offset = end;
      const wantMax = timestamp === MAX_TIMESTAMP;
      if (wantMax ? header.maxTimestamp <= best.timestamp : header.maxTimestamp < timestamp) continue;
      for (const record of await decodeKafkaBatch(await asKafkaBatch(batch))) {
        if (wantMax ? record.timestamp > best.timestamp : record.timestamp >= timestamp) {
          best = { offset: record.offset, timestamp: record.timestamp };
          if (!wantMax) return best;
        }
      }
    }
  }
  return best;
}

/** ListOffsets (2): latest (-1), earliest (-2), the largest timestamp (-3), or by timestamp. */
export function listOffsetsHandler(ctx: KafkaContext) {
  return async (request: Record<string, unknown>) => {
    const { topics } = request as ListOffsetsRequestData;
    return {
      topics: await Promise.all(
        topics.map(async (topic) => ({
          name: topic.name,
          partitions: await Promise.all(
            topic.partitions.map(async (partition) => {
              const store = ctx.replicas.get(topic.name, partition.partitionIndex);
              const base = { partitionIndex: partition.partitionIndex, leaderEpoch: 0 };
              if (!store) return { ...base, errorCode: KafkaError.UnknownTopicOrPartition, timestamp: -1, offset: -1 };
              if (partition.timestamp === LATEST) return { ...base, errorCode: KafkaError.None, timestamp: -1, offset: store.highWatermark() };
              if (partition.timestamp === EARLIEST) return { ...base, errorCode: KafkaError.None, timestamp: -1, offset: store.logStartOffset() };
              if (partition.timestamp < MAX_TIMESTAMP) return { ...base, errorCode: KafkaError.InvalidRequest, timestamp: -1, offset: -1 };
              const found = await offsetForTimestamp(store, partition.timestamp);
              return { ...base, errorCode: KafkaError.None, ...found };
            }),
          ),
        })),
      ),
    };
  };
}
