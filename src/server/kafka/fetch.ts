import { kafka } from '../../protocol/index.js';
import { OffsetOutOfRangeError, type PartitionStore } from '../../storage/index.js';
import { Wakeup } from '../spu/wakeup.js';
import { topicById, type KafkaContext } from './context.js';
import type { KafkaRequestContext } from './listener.js';

const { KafkaError, asKafkaBatches } = kafka;
type FetchRequestData = kafka.FetchRequestData;

/** Longest long poll served, whatever max_wait_ms asks. */
const MAX_WAIT_MS = 30_000;

interface PartitionResult {
  partitionIndex: number;
  errorCode: number;
  highWatermark: number;
  lastStableOffset: number;
  logStartOffset: number;
  abortedTransactions: null;
  preferredReadReplica: number;
  records: Buffer[];
}

function emptyResult(partitionIndex: number, errorCode: number, store?: PartitionStore): PartitionResult {
  const hw = store ? store.highWatermark() : -1;
  return {
    partitionIndex,
    errorCode,
    highWatermark: hw,
    lastStableOffset: hw,
    logStartOffset: store ? store.logStartOffset() : -1,
    abortedTransactions: null,
    preferredReadReplica: -1,
    records: [],
  };
}

/**
 * Fetch (1): stored batches from each partition's fetch offset, Kafka records
 * as stored, Fluvio records converted. When fewer than min_bytes are ready the
 * request waits, up to max_wait_ms, for an append to any of its partitions
 * (the stores' append notifications wake it; nothing polls).
 */
export function fetchHandler(ctx: KafkaContext) {
  return async (request: Record<string, unknown>, { closed, header }: KafkaRequestContext) => {
    const fetch = request as FetchRequestData;
    // v13 names topics by id; an unknown id reads as a topic that does not exist.
    const names = fetch.topics.map((topic) => (header.apiVersion >= 13 ? (topicById(ctx.topics, topic.topicId)?.name ?? '') : topic.topic));
    const wanted = fetch.topics.flatMap((topic, i) => topic.partitions.map((partition) => ({ topic: names[i], ...partition })));
    const stores = wanted.map((entry) => ctx.replicas.get(entry.topic, entry.partition));
    const wakeup = new Wakeup();
    const unsubscribe = stores.filter((store): store is PartitionStore => store !== undefined).map((store) => store.onAppend(wakeup.notify));
    const maxWait = Math.min(Math.max(fetch.maxWaitMs, 0), MAX_WAIT_MS);
    const deadline = Date.now() + maxWait;
    try {
      for (;;) {
        const { results, bytes, failed } = await collect(ctx, fetch, wanted, stores);
        const remaining = deadline - Date.now();
        if (bytes >= Math.max(fetch.minBytes, 1) || failed || remaining <= 0 || closed.aborted) {
          const responses = fetch.topics.map((topic) => ({ topic: topic.topic, topicId: topic.topicId, partitions: results.splice(0, topic.partitions.length) }));
          return { throttleTimeMs: 0, errorCode: KafkaError.None, sessionId: 0, responses };
        }
        await waitFor(wakeup, remaining, closed);
      }
    } finally {
      for (const stop of unsubscribe) stop();
    }
  };
}

async function collect(
  ctx: KafkaContext,
  fetch: FetchRequestData,
  wanted: { topic: string; partition: number; fetchOffset: number; partitionMaxBytes: number }[],
  stores: (PartitionStore | undefined)[],
): Promise<{ results: PartitionResult[]; bytes: number; failed: boolean }> {
  let budget = Math.min(fetch.maxBytes > 0 ? fetch.maxBytes : ctx.limits.maxFetchBytes, ctx.limits.maxFetchBytes);
  let bytes = 0;
  let failed = false;
  const results: PartitionResult[] = [];
  for (let i = 0; i < wanted.length; i++) {
    const entry = wanted[i];
    const store = stores[i];
    if (!store) {
      failed = true;
      results.push(emptyResult(entry.partition, entry.topic === '' ? KafkaError.UnknownTopicId : KafkaError.UnknownTopicOrPartition));
      continue;
    }
    const result = emptyResult(entry.partition, KafkaError.None, store);
    results.push(result);
    if (entry.fetchOffset < store.logStartOffset() || entry.fetchOffset > store.highWatermark()) {
      result.errorCode = KafkaError.OffsetOutOfRange;
      failed = true;
      continue;
    }
    if (entry.fetchOffset === store.highWatermark() || budget <= 0) continue;
    try {
      const read = await store.read(entry.fetchOffset, Math.max(1, Math.min(entry.partitionMaxBytes, budget)));
      result.records = await asKafkaBatches(read.chunks);
      result.highWatermark = read.highWatermark;
      result.lastStableOffset = read.highWatermark;
      result.logStartOffset = read.logStartOffset;
      for (const chunk of result.records) bytes += chunk.length;
      budget -= read.bytes;
    } catch (err) {
      if (!(err instanceof OffsetOutOfRangeError)) throw err;
      result.errorCode = KafkaError.OffsetOutOfRange;
      failed = true;
    }
  }
  return { results, bytes, failed };
}

function waitFor(wakeup: Wakeup, ms: number, closed: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      closed.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    closed.addEventListener('abort', done);
    void wakeup.wait().then(done);
  });
}
