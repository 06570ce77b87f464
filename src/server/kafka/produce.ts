import { kafka, splitRecordSet, validateBatch, type BatchHeader } from '../../protocol/index.js';
import { StorageError, type PartitionStore } from '../../storage/index.js';
import { SerialQueue } from '../../common/index.js';
import { partitionKey } from '../spu/replica-manager.js';
import type { KafkaContext } from './context.js';

const { KafkaError, ATTR_CONTROL, ATTR_TRANSACTIONAL, markKafkaRecords } = kafka;
type ProduceRequestData = kafka.ProduceRequestData;

interface PartitionAnswer {
  index: number;
  errorCode: number;
  baseOffset: number;
  logAppendTimeMs: number;
  logStartOffset: number;
  recordErrors: { batchIndex: number; batchIndexErrorMessage: string | null }[];
  errorMessage: string | null;
}

function answer(index: number, errorCode: number, errorMessage: string | null = null): PartitionAnswer {
  return { index, errorCode, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1, recordErrors: [], errorMessage };
}

/**
 * Produce (0): the batches of each partition are checked (magic 2, layout,
 * CRC; no transactional or control batch), stamped as Kafka records and
 * appended as they came; an idempotent producer's batches are checked against
 * its sequences first, in order per partition, so that a retry racing the
 * original request (on a new connection) sees the original's outcome.
 */
export function produceHandler(ctx: KafkaContext) {
  const idempotentQueues = new Map<string, SerialQueue>();

  const appendIdempotent = (topic: string, partition: number, store: PartitionStore, batches: Buffer[], headers: BatchHeader[], result: PartitionAnswer) => {
    const key = partitionKey(topic, partition);
    let queue = idempotentQueues.get(key);
    if (!queue) {
      queue = new SerialQueue();
      idempotentQueues.set(key, queue);
    }
    return queue.run(async () => {
      const fresh: Buffer[] = [];
      const freshHeaders: BatchHeader[] = [];
      for (let i = 0; i < batches.length; i++) {
        const check = ctx.producers.check(topic, partition, headers[i]);
        if (check.kind === 'refuse') {
          Object.assign(result, answer(result.index, check.errorCode, check.message));
          return;
        }
        if (check.kind === 'duplicate') {
          if (i === 0) result.baseOffset = check.baseOffset;
          continue;
        }
        fresh.push(batches[i]);
        freshHeaders.push(headers[i]);
      }
      if (fresh.length > 0) {
        const appended = await store.append(fresh);
        let next = appended.baseOffset;
        for (const header of freshHeaders) {
          ctx.producers.record(topic, partition, header, next, store.highWatermark());
          next += header.lastOffsetDelta + 1;
        }
        await ctx.producers.save();
        if (result.baseOffset < 0) result.baseOffset = appended.baseOffset;
      }
      result.logStartOffset = store.logStartOffset();
    });
  };

  const producePartition = async (topic: string, index: number, records: Buffer | null): Promise<PartitionAnswer> => {
    const result = answer(index, KafkaError.None);
    const store = ctx.replicas.get(topic, index);
    if (!store) return answer(index, KafkaError.UnknownTopicOrPartition);
    if (records === null || records.length === 0) return answer(index, KafkaError.CorruptMessage, 'no record batch');
    let batches: Buffer[];
    const headers: BatchHeader[] = [];
    try {
      batches = splitRecordSet(records);
      for (const batch of batches) {
        const header = validateBatch(batch);
        if ((header.attributes & (ATTR_TRANSACTIONAL | ATTR_CONTROL)) !== 0) {
          return answer(index, KafkaError.TransactionalIdAuthorizationFailed, 'transactional and control batches are not supported');
        }
        headers.push(header);
      }
    } catch (err) {
      return answer(index, KafkaError.CorruptMessage, `rejected record batch: ${(err as Error).message}`);
    }
    const idempotent = headers.map((header) => header.producerId >= 0);
    if (idempotent.some((flag) => flag !== idempotent[0])) {
      return answer(index, KafkaError.InvalidRequest, 'idempotent and plain batches in one partition entry');
    }
    for (const batch of batches) markKafkaRecords(batch);
    try {
      if (idempotent[0]) {
        await appendIdempotent(topic, index, store, batches, headers, result);
      } else {
        const appended = await store.append(batches);
        result.baseOffset = appended.baseOffset;
        result.logStartOffset = store.logStartOffset();
      }
    } catch (err) {
      if (err instanceof StorageError && err.code === 'BATCH_TOO_LARGE') return answer(index, KafkaError.MessageTooLarge, err.message);
      ctx.log.error({ err, topic, partition: index }, 'kafka append failed');
      return answer(index, KafkaError.UnknownServerError, 'the append failed');
    }
    return result;
  };

  return async (request: Record<string, unknown>) => {
    const { transactionalId, acks, topicData } = request as ProduceRequestData;
    const refuseAll = (errorCode: number, message: string) => ({
      responses: topicData.map((topic) => ({ name: topic.name, partitionResponses: topic.partitionData.map((p) => answer(p.index, errorCode, message)) })),
    });
    if (transactionalId !== null) return refuseAll(KafkaError.TransactionalIdAuthorizationFailed, 'transactions are not supported');
    if (acks !== 0 && acks !== 1 && acks !== -1) return refuseAll(KafkaError.InvalidRequiredAcks, `acks ${acks} is not 0, 1 or -1`);
    const responses = await Promise.all(
      topicData.map(async (topic) => ({
        name: topic.name,
        partitionResponses: await Promise.all(topic.partitionData.map((data) => producePartition(topic.name, data.index, data.records))),
      })),
    );
    return acks === 0 ? undefined : { responses };
  };
}

