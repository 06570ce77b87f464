import type { Logger } from 'pino';
import { Writer } from '../../protocol/codec.js';
import { ErrorCode, type FluvioError } from '../../protocol/error-code.js';
import { splitRecordSet, validateBatch, parseBatchHeader } from '../../protocol/record-batch.js';
import {
  decodeProduceRequest,
  encodeProduceResponse,
  type PartitionProduceResponse,
} from '../../protocol/messages/produce.js';
import type { SmartModuleInvocation } from '../../protocol/messages/smartmodule-invocation.js';
import { SmartModuleError, processStoredBatch, type SmartChain } from '../../smartengine/index.js';
import { StorageError, type PartitionStore } from '../../storage/index.js';
import type { RequestContext } from '../net/connection.js';
import type { TopicDeduplication } from '../sc/topic-registry.js';
import { DedupFilters } from './dedup.js';
import { partitionKey, type ReplicaManager } from './replica-manager.js';
import { producedBatch, type SmartModuleService } from './smartmodules.js';

interface Entry {
  partition: number;
  batches: Buffer[];
  response: PartitionProduceResponse;
}

interface Transform {
  invocations: readonly SmartModuleInvocation[];
  version: number;
  service: SmartModuleService | undefined;
  dedup: DedupFilters | undefined;
}

function failure(code: number, message?: string): FluvioError {
  return message === undefined ? { code } : { code, message };
}

function entryFor(partitionIndex: number, records: Buffer): Entry {
  const response: PartitionProduceResponse = {
    partitionIndex,
    errorCode: { code: ErrorCode.None },
    baseOffset: -1,
    logAppendTimeMs: -1,
    logStartOffset: -1,
  };
  try {
    const batches = splitRecordSet(records);
    for (const batch of batches) validateBatch(batch);
    return { partition: partitionIndex, batches, response };
  } catch (err) {
    response.errorCode = failure(ErrorCode.Other, `rejected record batch: ${(err as Error).message}`);
    return { partition: partitionIndex, batches: [], response };
  }
}

/**
 * Produce (0): every batch is validated (CRC, layout) before anything of its
 * entry is stored; a SmartModule chain in the request transforms the batches
 * first; each entry is answered in request order, and only after its batches
 * were appended (and synced, per the partition's flush policy).
 */
export function produceHandler(replicas: ReplicaManager, log: Logger, smartmodules?: SmartModuleService) {
  const dedup = smartmodules ? new DedupFilters(smartmodules, replicas) : undefined;
  return async ({ header, body, connection }: RequestContext): Promise<void> => {
    const request = decodeProduceRequest(body, header.apiVersion);
    body.expectEnd('Produce request');
    const transform: Transform = { invocations: request.smartmodules, version: header.apiVersion, service: smartmodules, dedup };
    const responses = await Promise.all(
      request.topics.map(async (topic) => {
        const entries = topic.partitions.map((data) => entryFor(data.partitionIndex, data.records));
        await appendEntries(topic.name, entries, replicas, transform, log);
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
async function appendEntries(topic: string, entries: Entry[], replicas: ReplicaManager, transform: Transform, log: Logger): Promise<void> {
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
      const transformed = transform.invocations.length > 0 ? await transformEntries(store, group, transform, log) : group;
      const deduplication = replicas.definition(topic)?.deduplication;
      const accepted = deduplication && transformed.length > 0 ? await dedupEntries(store, transformed, deduplication, transform, log) : transformed;
      try {
        const result = await store.append(accepted.flatMap((entry) => entry.batches));
        let next = result.baseOffset;
        for (const entry of accepted) {
          entry.response.baseOffset = next;
          entry.response.logStartOffset = store.logStartOffset();
          for (const batch of entry.batches) next += parseBatchHeader(batch, 0).lastOffsetDelta + 1;
        }
      } catch (err) {
        const tooLarge = err instanceof StorageError && err.code === 'BATCH_TOO_LARGE';
        if (!tooLarge) log.error({ err, topic, partition }, 'append failed');
        for (const entry of accepted) entry.response.errorCode = failure(tooLarge ? ErrorCode.MessageTooLarge : ErrorCode.StorageError);
      }
    }),
  );
}

/**
 * Runs the request's SmartModule chain over each entry's batches, replacing
 * them with the chain's output. An entry the chain rejects is answered with
 * the module's error and stores nothing; an entry filtered to nothing is
 * answered at the current end of the log.
 */
async function transformEntries(store: PartitionStore, group: Entry[], transform: Transform, log: Logger): Promise<Entry[]> {
  const fail = (error: FluvioError) => {
    for (const entry of group) entry.response.errorCode = error;
    return [];
  };
  if (!transform.service) return fail(failure(ErrorCode.Other, 'SmartModules are not enabled on this node'));
  let chain;
  try {
    chain = await transform.service.startChain(transform.invocations, transform.version, store);
  } catch (err) {
    if (!(err instanceof SmartModuleError)) throw err;
    return fail(err.fluvioError);
  }
  try {
    return runChain(chain, store, group, log);
  } finally {
    chain.close();
  }
}

/** The topic's deduplication filter over the entries (its chain lives on with the partition). */
async function dedupEntries(store: PartitionStore, group: Entry[], dedup: TopicDeduplication, transform: Transform, log: Logger): Promise<Entry[]> {
  const fail = (error: FluvioError) => {
    for (const entry of group) entry.response.errorCode = error;
    return [];
  };
  if (!transform.dedup) return fail(failure(ErrorCode.DeduplicationSmartModuleNotLoaded));
  let chain;
  try {
    chain = await transform.dedup.chainFor(dedup, store, transform.version);
  } catch (err) {
    if (!(err instanceof SmartModuleError)) throw err;
    log.warn({ topic: store.topic, partition: store.partition, filter: dedup.filter, error: err.message }, 'deduplication filter did not start');
    return fail(err.fluvioError);
  }
  const accepted = runChain(chain, store, group, log);
  // a failed filter may be unusable: the next request starts it again
  if (group.some((entry) => entry.response.errorCode.code !== ErrorCode.None)) transform.dedup.close(partitionKey(store.topic, store.partition));
  return accepted;
}

/** Each entry's batches through a running chain: replaced by its output, or answered with its error. */
function runChain(chain: SmartChain, store: PartitionStore, group: Entry[], log: Logger): Entry[] {
  const accepted: Entry[] = [];
  for (const entry of group) {
    const outputs: Buffer[] = [];
    let error: FluvioError | undefined;
    for (const batch of entry.batches) {
      const output = processStoredBatch(chain, batch);
      if (output.error) {
        log.info({ topic: store.topic, partition: store.partition, error: output.error.message }, 'SmartModule rejected a produce');
        error = output.error.fluvioError;
        break;
      }
      const stored = producedBatch(parseBatchHeader(batch, 0), output);
      if (stored) outputs.push(stored);
    }
    if (error) {
      entry.response.errorCode = error;
    } else if (outputs.length === 0) {
      entry.response.baseOffset = store.highWatermark();
      entry.response.logStartOffset = store.logStartOffset();
    } else {
      entry.batches = outputs;
      accepted.push(entry);
    }
  }
  return accepted;
}
