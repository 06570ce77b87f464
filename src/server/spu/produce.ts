import assert from 'node:assert/strict';
import type { Logger } from 'pino';
import { Writer } from '../../protocol/index.js';
import { ErrorCode, type FluvioError } from '../../protocol/index.js';
import { COMPRESSION_IDS } from '../../protocol/index.js';
import { splitRecordSet, validateBatch, parseBatchHeader } from '../../protocol/index.js';
import {
  decodeProduceRequest,
  encodeProduceResponse,
  type PartitionProduceResponse,
} from '../../protocol/index.js';
import type { SmartModuleInvocation } from '../../protocol/index.js';
import { SmartModuleError, processStoredBatch, type SmartChain } from '../../smartengine/index.js';
import { StorageError, type AppendResult, type PartitionStore } from '../../storage/index.js';
import type { Authorizer } from '../../auth/index.js';
import type { RequestContext } from '../net/connection.js';
import type { TopicCompression, TopicDeduplication } from '../sc/topic-registry.js';
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

/** The batch codec a topic requires, as Fluvio's SPU checks it: undefined when it takes any (or is not led here). */
function requiredCodec(compression: TopicCompression | undefined): number | undefined {
  return compression === undefined || compression === 'any' ? undefined : COMPRESSION_IDS[compression];
}

function refused(partitionIndex: number, code: number): PartitionProduceResponse {
  return { partitionIndex, errorCode: { code }, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1 };
}

function entryFor(partitionIndex: number, records: Buffer, codec: number | undefined): Entry {
  const response: PartitionProduceResponse = {
    partitionIndex,
    errorCode: { code: ErrorCode.None },
    baseOffset: -1,
    logAppendTimeMs: -1,
    logStartOffset: -1,
  };
  const refuse = (error: FluvioError): Entry => {
    response.errorCode = error;
    return { partition: partitionIndex, batches: [], response };
  };
  let batches: Buffer[];
  try {
    batches = splitRecordSet(records);
    for (const batch of batches) {
      const { compression } = validateBatch(batch);
      // CompressionError carries no message on the wire.
      if (codec !== undefined && compression !== codec) return refuse(failure(ErrorCode.CompressionError));
    }
  } catch (err) {
    return refuse(failure(ErrorCode.Other, `rejected record batch: ${(err as Error).message}`));
  }
  return { partition: partitionIndex, batches, response };
}

/**
 * Produce (0): every batch is validated (CRC, layout, the topic's
 * compression setting) before anything of its entry is stored; a SmartModule
 * chain in the request transforms the batches
 * first; each entry is answered in request order, and only after its batches
 * were appended (and synced, per the partition's flush policy).
 */
export function produceHandler(replicas: ReplicaManager, log: Logger, smartmodules?: SmartModuleService, authorizer?: Authorizer) {
  const dedup = smartmodules ? new DedupFilters(smartmodules, replicas) : undefined;
  return async ({ header, body, connection }: RequestContext): Promise<void> => {
    const request = decodeProduceRequest(body, header.apiVersion);
    body.expectEnd('Produce request');
    const transform: Transform = { invocations: request.smartmodules, version: header.apiVersion, service: smartmodules, dedup };
    const responses = await Promise.all(
      request.topics.map(async (topic) => {
        if (authorizer && !authorizer.permits(connection.principal, 'write', 'topic', topic.name)) {
          return { name: topic.name, partitions: topic.partitions.map((data) => refused(data.partitionIndex, ErrorCode.PermissionDenied)) };
        }
        const codec = requiredCodec(replicas.compressionOf(topic.name));
        const entries = topic.partitions.map((data) => entryFor(data.partitionIndex, data.records, codec));
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
 * What a failed append answers. A full disk says so in words (Fluvio has no
 * code for it and StorageError carries no text), so producers can tell it
 * from a fault; the partition takes appends again once there is room.
 */
function appendFailure(err: unknown, topic: string, partition: number, log: Logger): FluvioError {
  if (err instanceof StorageError && err.code === 'BATCH_TOO_LARGE') return failure(ErrorCode.MessageTooLarge);
  if (err instanceof StorageError && err.code === 'NO_SPACE') {
    log.warn({ topic, partition }, 'append refused: disk full');
    return failure(ErrorCode.Other, err.message);
  }
  // A replicated backend that cannot reach its servers, or whose leadership
  // moved, answers "not leader": clients look the leader up again and retry,
  // as they do when a partition moves.
  if (err instanceof StorageError && (err.code === 'UNAVAILABLE' || err.code === 'FENCED')) {
    log.warn({ err, topic, partition }, 'append failed: partition unavailable here');
    return failure(ErrorCode.NotLeaderForPartition);
  }
  log.error({ err, topic, partition }, 'append failed');
  return failure(ErrorCode.StorageError);
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
  await Promise.all([...byPartition].map(([partition, group]) => appendGroup(topic, partition, group, replicas, transform, log)));
}

/**
 * One partition's entries of a request: in the partition's line from the
 * moment the request arrived (see AppendOrder), so a request whose chain
 * takes time to start is stored before the requests that arrived after it.
 */
async function appendGroup(topic: string, partition: number, group: Entry[], replicas: ReplicaManager, transform: Transform, log: Logger): Promise<void> {
  const store = replicas.get(topic, partition);
  if (!store) {
    const code = replicas.hasTopic(topic) ? ErrorCode.NotLeaderForPartition : ErrorCode.TopicNotFound;
    for (const entry of group) entry.response.errorCode = failure(code);
    return;
  }
  const line = partitionKey(topic, partition);
  const turn = replicas.appendOrder.enter(line);
  let accepted = group;
  let appended: Promise<AppendResult> | undefined;
  const topicDeleted = (entries: Entry[]) => {
    for (const entry of entries) entry.response.errorCode = failure(ErrorCode.TopicDeleted);
  };
  try {
    if (turn) await turn;
    if (transform.invocations.length > 0) accepted = await transformEntries(store, group, transform, log);
    const deduplication = replicas.definition(topic)?.deduplication;
    if (deduplication && accepted.length > 0) accepted = await dedupEntries(store, accepted, deduplication, transform, log);
    // The topic went while the chain (or the deduplication filter) started (its look-back read may have failed for that).
    if (!replicas.holds(store)) return topicDeleted(group);
    if (accepted.length > 0) appended = store.append(accepted.flatMap((entry) => entry.batches));
  } catch (err) {
    if (replicas.holds(store)) throw err;
    return topicDeleted(group);
  } finally {
    replicas.appendOrder.leave(line);
  }
  if (!appended) return;
  let result: AppendResult;
  try {
    result = await appended;
  } catch (err) {
    if (!replicas.holds(store)) return topicDeleted(accepted);
    for (const entry of accepted) entry.response.errorCode = appendFailure(err, topic, partition, log);
    return;
  }
  let next = result.baseOffset;
  for (const entry of accepted) {
    entry.response.baseOffset = next;
    entry.response.logStartOffset = store.logStartOffset();
    for (const batch of entry.batches) next += parseBatchHeader(batch, 0).lastOffsetDelta + 1;
  }
  // The store numbered the batches one after the other, as counted here.
  if (next !== result.lastOffset + 1) assert.fail(`append to ${topic}-${partition} stored offsets ${result.baseOffset}..${result.lastOffset}, counted ${next - 1}`);
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
