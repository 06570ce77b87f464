import type { Logger } from 'pino';
import { Writer } from '../../protocol/codec.js';
import { ErrorCode, type FluvioError } from '../../protocol/error-code.js';
import { splitRecordSet, validateBatch, parseBatchHeader } from '../../protocol/record-batch.js';
import {
  decodeProduceRequest,
  encodeProduceResponse,
  type PartitionProduceResponse,
} from '../../protocol/messages/produce.js';
import { StorageError } from '../../storage/index.js';
import type { RequestContext } from '../net/connection.js';
import type { ReplicaManager } from './replica-manager.js';

interface Entry {
  partition: number;
  batches: Buffer[];
  response: PartitionProduceResponse;
}

function failure(code: number, message?: string): FluvioError {
  return message === undefined ? { code } : { code, message };
}

/**
 * Produce (0): every batch is validated (CRC, layout) before anything of its
 * entry is stored; each entry is answered in request order, and only after
 * its batches were appended (and synced, per the partition's flush policy).
 */
export function produceHandler(replicas: ReplicaManager, log: Logger) {
  return async ({ header, body, connection }: RequestContext): Promise<void> => {
    const request = decodeProduceRequest(body, header.apiVersion);
    body.expectEnd('Produce request');
    const responses = await Promise.all(
      request.topics.map(async (topic) => {
        const entries: Entry[] = topic.partitions.map((data) => {
          const response: PartitionProduceResponse = {
            partitionIndex: data.partitionIndex,
            errorCode: { code: ErrorCode.None },
            baseOffset: -1,
            logAppendTimeMs: -1,
            logStartOffset: -1,
          };
          if (request.smartmodules.length > 0) {
            response.errorCode = failure(ErrorCode.Other, 'produce-side SmartModules are not supported by this node yet');
            return { partition: data.partitionIndex, batches: [], response };
          }
          try {
            const batches = splitRecordSet(data.records);
            for (const batch of batches) validateBatch(batch);
            return { partition: data.partitionIndex, batches, response };
          } catch (err) {
            response.errorCode = failure(ErrorCode.Other, `rejected record batch: ${(err as Error).message}`);
            return { partition: data.partitionIndex, batches: [], response };
          }
        });
        await appendEntries(topic.name, entries, replicas, log);
        return { name: topic.name, partitions: entries.map((entry) => entry.response) };
      }),
    );
    const writer = new Writer();
    encodeProduceResponse(writer, { responses, throttleTimeMs: 0 }, header.apiVersion);
    connection.send(header.correlationId, writer);
  };
}

/**
 * Entries for the same partition are appended with one store call, keeping
 * their order, so one request costs one write (and at most one fsync) per
 * partition.
 */
async function appendEntries(topic: string, entries: Entry[], replicas: ReplicaManager, log: Logger): Promise<void> {
  const byPartition = new Map<number, Entry[]>();
  for (const entry of entries) {
    if (entry.response.errorCode.code !== ErrorCode.None || entry.batches.length === 0) continue;
    const group = byPartition.get(entry.partition) ?? [];
    group.push(entry);
    byPartition.set(entry.partition, group);
  }
  await Promise.all(
    [...byPartition].map(async ([partition, group]) => {
      const store = replicas.get(topic, partition);
      if (!store) {
        const code = replicas.hasTopic(topic) ? ErrorCode.NotLeaderForPartition : ErrorCode.TopicNotFound;
        for (const entry of group) entry.response.errorCode = failure(code);
        return;
      }
      try {
        const result = await store.append(group.flatMap((entry) => entry.batches));
        let next = result.baseOffset;
        for (const entry of group) {
          entry.response.baseOffset = next;
          entry.response.logStartOffset = store.logStartOffset();
          for (const batch of entry.batches) next += parseBatchHeader(batch, 0).lastOffsetDelta + 1;
        }
      } catch (err) {
        const tooLarge = err instanceof StorageError && err.code === 'BATCH_TOO_LARGE';
        if (!tooLarge) log.error({ err, topic, partition }, 'append failed');
        for (const entry of group) entry.response.errorCode = failure(tooLarge ? ErrorCode.MessageTooLarge : ErrorCode.StorageError);
      }
    }),
  );
}
