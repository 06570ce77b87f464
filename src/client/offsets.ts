// Stored consumer offsets (Fluvio's `fluvio consumer list|delete`): each SPU
// keeps the offsets of the partitions it leads; list asks every SPU, delete
// asks the leader of the partition.

import { ErrorCode } from '../protocol/index.js';
import { DeleteConsumerOffsetApi, FetchConsumerOffsetsApi } from './apis.js';
import type { ClientContext } from './context.js';
import { PartitionNotFoundError, ServerError } from './errors.js';

export interface StoredConsumerOffset {
  consumerId: string;
  topic: string;
  partition: number;
  /** Offset of the last record the consumer took; it resumes at offset + 1. */
  offset: number;
  /** When it was last stored, ms since the epoch (the server keeps seconds). */
  modifiedTime: number;
}

export interface ConsumerOffsetFilter {
  consumerId?: string;
  topic?: string;
  partition?: number;
}

export async function listConsumerOffsets(context: ClientContext, filter: ConsumerOffsetFilter = {}): Promise<StoredConsumerOffset[]> {
  const spus = await context.metadata.spus();
  const lists = await Promise.all(
    spus.map(async (spu) => {
      const response = await context.spuLink({ host: spu.host, port: spu.port }).send(FetchConsumerOffsetsApi, {}, { idempotent: true });
      if (response.errorCode.code !== ErrorCode.None) throw new ServerError(response.errorCode, `listing consumer offsets on SPU ${spu.id}`);
      return response.consumers;
    }),
  );
  return lists
    .flat()
    .map((c) => ({
      consumerId: c.consumerId,
      topic: c.replicaId.topic,
      partition: c.replicaId.partition,
      offset: c.offset,
      modifiedTime: c.modifiedTime * 1000,
    }))
    .filter(
      (c) =>
        (filter.consumerId === undefined || c.consumerId === filter.consumerId) &&
        (filter.topic === undefined || c.topic === filter.topic) &&
        (filter.partition === undefined || c.partition === filter.partition),
    )
    .sort((a, b) =>
      a.consumerId !== b.consumerId
        ? a.consumerId.localeCompare(b.consumerId)
        : a.topic !== b.topic
          ? a.topic.localeCompare(b.topic)
          : a.partition - b.partition,
    );
}

export async function deleteConsumerOffset(context: ClientContext, consumerId: string, topic: string, partition: number): Promise<void> {
  const { topic: info, leaders } = await context.metadata.leaders(topic);
  if (!Number.isInteger(partition) || partition < 0 || partition >= info.partitions) {
    throw new PartitionNotFoundError(topic, partition, info.partitions);
  }
  const response = await context
    .spuLink(leaders[partition])
    .send(DeleteConsumerOffsetApi, { replicaId: { topic, partition }, consumerId }, { idempotent: true });
  if (response.errorCode.code !== ErrorCode.None) {
    throw new ServerError(response.errorCode, `deleting the offset of consumer "${consumerId}" on ${topic}-${partition}`);
  }
}
