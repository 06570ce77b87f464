// Load against a live node: many concurrent connections, a consumer that
// never reads, a client that floods requests without reading the responses.
// Every well-behaved client must keep working, the producer must not be held
// up by a slow consumer, and the node's memory must stay bounded (the node
// runs in this process, so this process's memory is the node's).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import * as p from '../../src/protocol/index.js';
import { DEFAULT_LIMITS } from '../../src/server/limits.js';
import { createTopic, startTestNode, stopTestNode } from '../helpers/test-node.js';
import { connectFluvio, Offset, take } from '../helpers/fluvio.js';
import {
  RawClient,
  apiVersions,
  assertScServes,
  assertSpuServes,
  fetchOffsets,
  encodeProduceBody,
  listTopics,
  produce,
  produceValues,
  recordsOf,
  requestFrame,
  streamFetch,
  updateOffsets,
  PRODUCE_VERSION,
  SC_OBJECT_VERSION,
} from '../helpers/raw-client.js';

const MiB = 1024 * 1024;
const MAX_QUEUED = 1 * MiB;

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

let node: Awaited<ReturnType<typeof startTestNode>>;

before(async () => {
  node = await startTestNode({
    limits: { ...DEFAULT_LIMITS, maxQueuedResponseBytes: MAX_QUEUED },
    // Page-cache durability: these tests are about the network path, not fsync.
    storage: { flush: { kind: 'os' } },
  });
  await createTopic(node, 'health');
});

after(() => stopTestNode(node));

async function assertHealthy(): Promise<void> {
  await assertScServes(node.scPort, 'health');
  await assertSpuServes(node.spuPort, 'health');
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(node.stats())}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

interface MemorySample {
  rss: number;
  heapUsed: number;
  /** Buffers live outside the V8 heap. */
  external: number;
}

function memory(): MemorySample {
  const usage = process.memoryUsage();
  return { rss: usage.rss, heapUsed: usage.heapUsed, external: usage.external + usage.arrayBuffers };
}

function settledMemory(): MemorySample {
  gc();
  gc();
  return memory();
}

/** Samples this process's memory and the node's queued response bytes every few ms until stopped. */
function startSampler(): { stop(): { peak: MemorySample; peakQueued: number } } {
  const peak = memory();
  let peakQueued = 0;
  const timer = setInterval(() => {
    const now = memory();
    peak.rss = Math.max(peak.rss, now.rss);
    peak.heapUsed = Math.max(peak.heapUsed, now.heapUsed);
    peak.external = Math.max(peak.external, now.external);
    peakQueued = Math.max(peakQueued, node.stats().queuedResponseBytes);
  }, 5);
  return {
    stop() {
      clearInterval(timer);
      return { peak, peakQueued };
    },
  };
}

const mb = (bytes: number) => `${(bytes / MiB).toFixed(1)} MB`;

test('200 concurrent connections each handshake, produce and fetch offsets; all succeed', async () => {
  const connections = 200;
  await createTopic(node, 'crowd', 4);
  const outcomes = await Promise.all(
    Array.from({ length: connections }, async (_, i) => {
      const client = await RawClient.connect(node.spuPort);
      try {
        const versions = await apiVersions(client);
        assert.equal(versions.errorCode.code, p.ErrorCode.None);
        const produced = await produceValues(client, 'crowd', i % 4, [`client-${i}`]);
        assert.equal(produced.errorCode.code, p.ErrorCode.None);
        const offsets = await fetchOffsets(client, 'crowd', i % 4);
        assert.equal(offsets.errorCode.code, p.ErrorCode.None);
        assert.ok(offsets.lastStableOffset > produced.baseOffset);
        return produced.baseOffset;
      } finally {
        await client.close();
      }
    }),
  );
  assert.equal(outcomes.length, connections);
  let stored = 0;
  for (let partition = 0; partition < 4; partition++) stored += node.replicas.get('crowd', partition)!.highWatermark();
  assert.equal(stored, connections, 'every record stored exactly once');
  // And as many SC connections at once.
  await Promise.all(
    Array.from({ length: connections }, async () => {
      const client = await RawClient.connect(node.scPort);
      try {
        await apiVersions(client);
        assert.ok((await listTopics(client)).includes('crowd'));
      } finally {
        await client.close();
      }
    }),
  );
  await waitFor(() => node.stats().spuConnections === 0 && node.stats().scConnections === 0, 'connections to close');
  await assertHealthy();
});

test('a consumer that never reads or acknowledges holds bounded memory and does not slow the producer', async () => {
  await createTopic(node, 'firehose');
  const total = 50 * MiB;
  const valueSize = 64 * 1024;
  const recordsPerBatch = 16;
  const batch = p.encodeBatch(Array.from({ length: recordsPerBatch }, (_, i) => ({ key: null, value: Buffer.alloc(valueSize, i) })));
  const requests = Math.ceil(total / batch.length);

  // The slow consumers: one at Fluvio's default max_bytes, one asking for the most the node allows.
  // Both streams are open before the first record and neither reads its socket.
  const streamsBefore = node.stats().streamFetches;
  const slow: { client: RawClient; frames: p.StreamFetchResponse[] }[] = [];
  for (const maxBytes of [1_048_890, 64 * MiB]) {
    const client = await RawClient.connect(node.spuPort);
    await apiVersions(client);
    const frames: p.StreamFetchResponse[] = [];
    streamFetch(client, 'firehose', 0, 0, (response) => frames.push(response), maxBytes);
    slow.push({ client, frames });
  }
  await waitFor(() => node.stats().streamFetches === streamsBefore + 2, 'the slow streams to open');
  for (const consumer of slow) consumer.client.socket.pause();

  const before = settledMemory();
  const sampler = startSampler();
  const producer = await RawClient.connect(node.spuPort);
  await apiVersions(producer);
  const started = Date.now();
  let slowest = 0;
  let sentRequests = 0;
  // Four requests in flight, each slot reusing its own frame buffer (only the correlation id
  // changes), so that the client side of this process adds little garbage to the measurement.
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      const frame = requestFrame(p.SpuApiKey.Produce, PRODUCE_VERSION, 0, (w) =>
        encodeProduceBody(w, 'firehose', [{ partition: 0, records: batch }]),
      );
      while (sentRequests < requests) {
        sentRequests++;
        frame.writeInt32BE(producer.allocateCorrelationId(), 8);
        const sent = Date.now();
        const response = await producer.requestRaw(frame);
        slowest = Math.max(slowest, Date.now() - sent);
        const decoded = p.decodeProduceResponse(response.body, PRODUCE_VERSION);
        assert.equal(decoded.responses[0].partitions[0].errorCode.code, p.ErrorCode.None);
      }
    }),
  );
  const elapsed = Date.now() - started;
  const { peak, peakQueued } = sampler.stop();
  const after = settledMemory();
  const produced = requests * batch.length;
  const store = node.replicas.get('firehose', 0)!;
  assert.equal(store.highWatermark(), requests * recordsPerBatch);

  const report = {
    produced: mb(produced),
    elapsedMs: elapsed,
    slowestProduceMs: slowest,
    peakQueued: mb(peakQueued),
    peakGrowth: { rss: mb(peak.rss - before.rss), heapUsed: mb(peak.heapUsed - before.heapUsed), external: mb(peak.external - before.external) },
    retainedGrowth: { rss: mb(after.rss - before.rss), heapUsed: mb(after.heapUsed - before.heapUsed), external: mb(after.external - before.external) },
  };
  console.log('slow consumer:', JSON.stringify(report));
  // What the node holds for the two stalled streams: at most two unacknowledged frames each,
  // and never more than the per-connection queue bound plus one frame.
  assert.ok(peakQueued <= 2 * (MAX_QUEUED + DEFAULT_LIMITS.maxFetchBytes), `queued ${mb(peakQueued)}`);
  // What the process still holds after the burst (heap objects and buffers, after a GC) is a
  // small fraction of what went through. RSS also counts pages the allocator keeps for reuse
  // after the transient garbage of the burst, so it gets a looser bound: well under the volume.
  assert.ok(after.heapUsed - before.heapUsed < 16 * MiB, `heap grew by ${mb(after.heapUsed - before.heapUsed)}`);
  assert.ok(after.external - before.external < 16 * MiB, `buffers grew by ${mb(after.external - before.external)}`);
  assert.ok(after.rss - before.rss < produced * 0.75, `rss grew by ${mb(after.rss - before.rss)} for ${mb(produced)} produced`);
  // The producer was never held up by the stalled consumers.
  assert.ok(slowest < 5_000, `slowest produce took ${slowest} ms`);

  // A stalled consumer that starts reading (and acknowledging) again gets every record, in order.
  const resumed = slow[0];
  const end = requests * recordsPerBatch;
  let nextOffset = 0;
  const caughtUp = new Promise<void>((resolve, reject) => {
    const consume = () => {
      for (const response of resumed.frames.splice(0)) {
        for (const record of recordsOf(response)) {
          if (record.offset < nextOffset) continue;
          if (record.offset !== nextOffset) return reject(new Error(`offset ${record.offset} after ${nextOffset - 1}`));
          nextOffset++;
        }
        void updateOffsets(resumed.client, response.streamId, nextOffset).catch(reject);
      }
      if (nextOffset === end) resolve();
      else setTimeout(consume, 5);
    };
    consume();
  });
  resumed.client.socket.resume();
  await caughtUp;
  for (const consumer of slow) await consumer.client.close();
  await waitFor(() => node.stats().streamFetches === streamsBefore && node.stats().queuedResponseBytes === 0, 'stalled streams to be cleaned up');
  await assertHealthy();
});

test('a slow consumer that acknowledges without reading is bounded by the socket queue limit', async () => {
  await createTopic(node, 'acker');
  const batch = p.encodeBatch(Array.from({ length: 8 }, () => ({ key: null, value: Buffer.alloc(32 * 1024, 7) })));
  const producer = await RawClient.connect(node.spuPort);
  await apiVersions(producer);
  for (let i = 0; i < 40; i++) await produce(producer, 'acker', [{ partition: 0, records: batch }]);
  const hw = node.replicas.get('acker', 0)!.highWatermark();

  const consumer = await RawClient.connect(node.spuPort);
  await apiVersions(consumer);
  const streamsBefore = node.stats().streamFetches;
  streamFetch(consumer, 'acker', 0, 0, () => {}, 256 * 1024);
  await waitFor(() => node.stats().streamFetches === streamsBefore + 1, 'the stream to open');
  consumer.socket.pause();
  const sampler = startSampler();
  // Acknowledge everything, over and over, without reading a byte: each ack lets the stream
  // send more, so only the socket queue bound keeps the node's memory in check.
  for (let i = 0; i < 200; i++) {
    consumer.sendRaw(
      requestFrame(p.SpuApiKey.UpdateOffsets, 0, consumer.allocateCorrelationId(), (w) =>
        p.encodeUpdateOffsetsRequest(w, { offsets: [{ offset: hw, sessionId: 1 }] }, 0),
      ),
    );
    if (i % 20 === 0) await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await new Promise((resolve) => setTimeout(resolve, 300));
  const { peakQueued } = sampler.stop();
  console.log('acking slow consumer: peak queued', mb(peakQueued));
  assert.ok(peakQueued <= MAX_QUEUED + 2 * 256 * 1024 + 64 * 1024, `queued ${mb(peakQueued)}`);
  // The producer goes on meanwhile.
  assert.equal((await produceValues(producer, 'acker', 0, ['still producing'])).errorCode.code, p.ErrorCode.None);
  await consumer.close();
  await producer.close();
  await waitFor(() => node.stats().streamFetches === streamsBefore, 'the stream to end');
  await assertHealthy();
});

test('a client that floods requests and never reads the responses is paused, not buffered without bound', async () => {
  // Topics to make List responses large: a ~40-byte request, a response of several KB.
  for (let i = 0; i < 30; i++) await createTopic(node, `flood-${String(i).padStart(2, '0')}-${'n'.repeat(40)}`);
  const request = requestFrame(p.ScApiKey.List, SC_OBJECT_VERSION, 1, (w) =>
    p.encodeListRequest(w, { kind: 'Topic', nameFilters: [], summary: false, system: false }, SC_OBJECT_VERSION),
  );
  const probe = await RawClient.connect(node.scPort);
  const listed = await probe.request(p.ScApiKey.List, SC_OBJECT_VERSION, (w) =>
    p.encodeListRequest(w, { kind: 'Topic', nameFilters: [], summary: false, system: false }, SC_OBJECT_VERSION),
  );
  const amplification = listed.body.remaining() / request.length;
  await probe.close();

  const flooder = await RawClient.connect(node.scPort);
  flooder.socket.pause();
  const sampler = startSampler();
  const before = settledMemory();
  // 2 MB of requests (over 100 MB of responses if the node answered them all), written as
  // fast as the socket takes them; then give the node a moment to work through what it read.
  const chunk = Buffer.concat(Array.from({ length: 256 }, () => request));
  let written = 0;
  const deadline = Date.now() + 5_000;
  while (written < 2 * MiB && Date.now() < deadline) {
    written += chunk.length;
    if (!flooder.socket.write(chunk)) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 250);
        flooder.socket.once('drain', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const { peak, peakQueued } = sampler.stop();
  const after = settledMemory();
  console.log(
    'flooder:',
    JSON.stringify({
      amplification: amplification.toFixed(0),
      written: mb(written),
      peakQueued: mb(peakQueued),
      peakExternalGrowth: mb(peak.external - before.external),
      retainedExternal: mb(after.external - before.external),
    }),
  );
  // The node stops reading from a connection whose responses are not being taken: what it
  // queues is the limit plus the responses of the requests already in flight when it was reached.
  const slack = DEFAULT_LIMITS.maxInFlightRequests * (listed.body.remaining() + 8);
  assert.ok(peakQueued <= MAX_QUEUED + slack, `queued ${mb(peakQueued)} of responses for a client that reads none`);
  assert.ok(after.external - before.external < 8 * MiB, `buffers grew by ${mb(after.external - before.external)}`);
  // Others are served meanwhile, on both roles.
  await assertHealthy();
  await flooder.close();
  await waitFor(() => node.stats().scConnections === 0 && node.stats().queuedResponseBytes === 0, 'the flooder to be cleaned up');
});

test('after the load, the real @fluvio/client still produces and consumes', async () => {
  const fluvio = await connectFluvio(node.endpoint);
  const producer = await fluvio.topicProducer('health');
  await producer.send('after-load', 'ok');
  await producer.flush();
  const consumer = await fluvio.partitionConsumer('health', 0);
  const [record] = await take(await consumer.createStream(new Offset({ index: 1, from: 'end' })), 1);
  assert.equal(record.valueString(), 'ok');
});
