// Bad input against a live node over raw sockets: malformed and truncated
// frames, oversized frames, unknown api keys and versions, corrupt or torn
// record batches, a client that vanishes mid-stream. Each must end in a clear
// error response or a closed connection, and after each one the server must
// still serve a well-behaved client (raw, and the real @fluvio/client).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import * as p from '../../src/protocol/index.js';
import { DEFAULT_LIMITS } from '../../src/server/limits.js';
import { createTopic, startTestNode, stopTestNode } from '../helpers/test-node.js';
import { connectFluvio, Offset, take } from '../helpers/fluvio.js';
import {
  RawClient,
  apiVersions,
  assertScServes,
  assertSpuServes,
  encodeProduceBody,
  fetchOffsets,
  frameOf,
  produce,
  produceValues,
  recordsOf,
  requestFrame,
  streamFetch,
  updateOffsets,
  PRODUCE_VERSION,
} from '../helpers/raw-client.js';

const MAX_FRAME = 256 * 1024;
const CLOSE_WITHIN_MS = 3_000;
/** Short enough for the tests to see it, long enough for every well-formed frame to arrive. */
const FRAME_TIMEOUT_MS = 1_000;

let node: Awaited<ReturnType<typeof startTestNode>>;
const logLines: string[] = [];

before(async () => {
  node = await startTestNode({
    limits: { ...DEFAULT_LIMITS, maxFrameBytes: MAX_FRAME, frameTimeoutMs: FRAME_TIMEOUT_MS },
    storage: { flush: { kind: 'os' } },
    // Info level: connection closes are logged with their reason, and the tests read them.
    logger: pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) }),
  });
  await createTopic(node, 'health');
});

after(() => stopTestNode(node));

/** Both roles still serve a fresh, well-behaved raw client; no connection is left behind. */
async function assertHealthy(): Promise<void> {
  await assertScServes(node.scPort, 'health');
  await assertSpuServes(node.spuPort, 'health');
  await waitFor(() => node.stats().spuConnections === 0 && node.stats().scConnections === 0, 'connections to drain');
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(node.stats())}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Sends `bytes` on a fresh connection and expects the server to close it. */
async function expectClosedAfter(port: number, bytes: Buffer | Buffer[], expectedLog?: RegExp): Promise<void> {
  const logsBefore = logLines.length;
  const client = await RawClient.connect(port);
  for (const chunk of Array.isArray(bytes) ? bytes : [bytes]) client.sendRaw(chunk);
  const closed = await client.closedWithin(CLOSE_WITHIN_MS);
  if (!closed) await client.close();
  assert.ok(closed, 'the server should close the connection');
  if (expectedLog) {
    const reasons = logLines.slice(logsBefore).filter((line) => line.includes('closing connection'));
    assert.ok(
      reasons.some((line) => expectedLog.test(line)),
      `a close reason matching ${expectedLog} should be logged; got:\n${reasons.join('')}`,
    );
  }
  assert.equal(client.unexpected.length, 0, 'no response should be sent to a malformed request');
}

function apiVersionsFrame(correlationId = 1, version = 2): Buffer {
  return requestFrame(p.ApiKey.ApiVersions, version, correlationId, (w) =>
    p.encodeApiVersionsRequest(w, { clientVersion: '0.14.9', clientOs: 'linux', clientArch: 'x86_64' }, version),
  );
}

function batchOf(values: readonly string[]): Buffer {
  return p.encodeBatch(values.map((value) => ({ key: null, value: Buffer.from(value) })));
}

test('garbage bytes close the connection, on both listeners', async () => {
  for (const port of [node.scPort, node.spuPort]) {
    // Text where a length prefix belongs: 'GET ' is a 1.2 GB length.
    await expectClosedAfter(port, Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'), /exceeds the limit/);
    // A plausible length, then noise: the header's api key is unknown (or the header does not parse).
    await expectClosedAfter(port, frameOf(Buffer.from('\xff\xfe\xfd\xfc\x00\x01\x02\x03 garbage garbage garbage', 'latin1')));
    // An empty frame.
    await expectClosedAfter(port, frameOf(Buffer.alloc(0)), /malformed request header/);
  }
  await assertHealthy();
});

test('a truncated request header closes the connection', async () => {
  const full = apiVersionsFrame().subarray(4);
  // api_key only; api_key + version; up to the middle of the client_id.
  for (const cut of [2, 4, 8, 11]) {
    await expectClosedAfter(node.spuPort, frameOf(full.subarray(0, cut)), /malformed request header/);
  }
  // A client_id whose length runs past the frame.
  const lying = Buffer.from(full.subarray(0, 14));
  lying.writeUInt16BE(0x7fff, 8);
  await expectClosedAfter(node.scPort, frameOf(lying), /malformed request header/);
  await assertHealthy();
});

test('a valid header with a truncated body closes the connection', async () => {
  const versions = apiVersionsFrame().subarray(4);
  await expectClosedAfter(node.spuPort, frameOf(versions.subarray(0, versions.length - 3)), /malformed request/);

  const produceBody = requestFrame(p.SpuApiKey.Produce, PRODUCE_VERSION, 1, (w) =>
    encodeProduceBody(w, 'health', [{ partition: 0, records: batchOf(['never stored']) }]),
  ).subarray(4);
  const hwBefore = node.replicas.get('health', 0)!.highWatermark();
  for (const cut of [20, 40, produceBody.length - 60, produceBody.length - 1]) {
    await expectClosedAfter(node.spuPort, frameOf(produceBody.subarray(0, cut)), /malformed request \(api key 0 v23\)/);
  }
  assert.equal(node.replicas.get('health', 0)!.highWatermark(), hwBefore, 'nothing of a truncated produce is stored');

  const fetchOffsetsBody = requestFrame(p.SpuApiKey.FetchOffsets, 23, 1, (w) =>
    p.encodeFetchOffsetsRequest(w, { topics: [{ name: 'health', partitions: [{ partitionIndex: 0 }] }] }, 23),
  ).subarray(4);
  await expectClosedAfter(node.spuPort, frameOf(fetchOffsetsBody.subarray(0, fetchOffsetsBody.length - 2)), /malformed request/);
  // Trailing bytes after a complete body are malformed too.
  await expectClosedAfter(node.spuPort, frameOf(Buffer.concat([fetchOffsetsBody, Buffer.from([0, 0])])), /trailing byte/);
  await assertHealthy();
});

test('requests behind a malformed header or an unknown api key, in the same packet, are not served', async () => {
  const hwBefore = node.replicas.get('health', 0)!.highWatermark();
  const produceFrame = (correlationId: number) =>
    requestFrame(p.SpuApiKey.Produce, PRODUCE_VERSION, correlationId, (w) =>
      encodeProduceBody(w, 'health', [{ partition: 0, records: batchOf(['behind a bad frame']) }]),
    );
  await expectClosedAfter(
    node.spuPort,
    Buffer.concat([frameOf(Buffer.from([0, 0, 0])), produceFrame(2), produceFrame(3)]),
    /malformed request header/,
  );
  await expectClosedAfter(node.spuPort, Buffer.concat([requestFrame(4242, 0, 1), produceFrame(2)]), /unsupported api key 4242/);
  assert.equal(node.replicas.get('health', 0)!.highWatermark(), hwBefore, 'nothing after the bad frame was stored');
  // (A body that fails to decode is found by its handler, concurrently with the requests behind
  // it; those may still be served, as if they had been sent just before the connection dropped.)
  await assertHealthy();
});

test('a negative length prefix closes the connection', async () => {
  for (const length of [-1, -4, -0x80000000]) {
    const prefix = Buffer.alloc(4);
    prefix.writeInt32BE(length, 0);
    await expectClosedAfter(node.spuPort, Buffer.concat([prefix, apiVersionsFrame()]), /negative frame length/);
  }
  await assertHealthy();
});

test('a frame over maxFrameBytes closes the connection as soon as its length is read; one at the limit is served', async () => {
  // Only the length prefix: the server must not wait for (or buffer) the body.
  const prefix = Buffer.alloc(4);
  prefix.writeInt32BE(MAX_FRAME + 1, 0);
  await expectClosedAfter(node.spuPort, prefix, /exceeds the limit/);
  prefix.writeInt32BE(0x7fffffff, 0);
  await expectClosedAfter(node.scPort, prefix, /exceeds the limit/);

  // A real produce request just over the limit, sent whole.
  const hwBefore = node.replicas.get('health', 0)!.highWatermark();
  const bigValue = 'x'.repeat(MAX_FRAME);
  const tooBig = requestFrame(p.SpuApiKey.Produce, PRODUCE_VERSION, 1, (w) =>
    encodeProduceBody(w, 'health', [{ partition: 0, records: batchOf([bigValue]) }]),
  );
  assert.ok(tooBig.length - 4 > MAX_FRAME);
  await expectClosedAfter(node.spuPort, tooBig, /exceeds the limit/);
  assert.equal(node.replicas.get('health', 0)!.highWatermark(), hwBefore);

  // Exactly at the limit: accepted and stored.
  const overhead = tooBig.length - 4 - MAX_FRAME;
  const fitting = requestFrame(p.SpuApiKey.Produce, PRODUCE_VERSION, 1, (w) =>
    encodeProduceBody(w, 'health', [{ partition: 0, records: batchOf([bigValue.slice(overhead + 2)]) }]),
  );
  assert.ok(fitting.length - 4 <= MAX_FRAME, `${fitting.length - 4} <= ${MAX_FRAME}`);
  const client = await RawClient.connect(node.spuPort);
  const response = await produce(client, 'health', [{ partition: 0, records: batchOf([bigValue.slice(overhead + 2)]) }]);
  assert.equal(response.responses[0].partitions[0].errorCode.code, p.ErrorCode.None);
  await client.close();
  await assertHealthy();
});

test('an unknown api key closes the connection, with the reason logged', async () => {
  await expectClosedAfter(node.spuPort, requestFrame(4242, 0, 1), /unsupported api key 4242/);
  // Produce is an SPU key; the SC does not serve it.
  await expectClosedAfter(
    node.scPort,
    requestFrame(p.SpuApiKey.Produce, PRODUCE_VERSION, 1, (w) => encodeProduceBody(w, 'health', [])),
    /unsupported api key 0/,
  );
  // Watch is an SC key; the SPU does not serve it.
  await expectClosedAfter(node.spuPort, requestFrame(p.ScApiKey.Watch, 16, 1), /unsupported api key 1004/);
  // After a successful handshake too.
  const client = await RawClient.connect(node.spuPort);
  await apiVersions(client);
  client.sendRaw(requestFrame(0xffff, 0, 2));
  assert.ok(await client.closedWithin(CLOSE_WITHIN_MS));
  await assertHealthy();
});

test('a known api key at an api_version the server does not advertise closes the connection, with the reason logged', async () => {
  const produceAt = (version: number) =>
    requestFrame(p.SpuApiKey.Produce, version, 1, (w) => encodeProduceBody(w, 'health', [{ partition: 0, records: batchOf(['v']) }]));
  await expectClosedAfter(node.spuPort, produceAt(24), /api_version 24 of api key 0 is not supported/);
  await expectClosedAfter(node.spuPort, produceAt(-1), /api_version -1 of api key 0 is not supported/);
  await expectClosedAfter(
    node.spuPort,
    requestFrame(p.SpuApiKey.FetchOffsets, 0, 1, (w) => p.encodeFetchOffsetsRequest(w, { topics: [] }, 0)),
    /api_version 0 of api key 1002 is not supported/,
  );
  await expectClosedAfter(node.spuPort, requestFrame(p.SpuApiKey.UpdateOffsets, 7, 1, (w) => w.i32(0)), /api_version 7 of api key 1005/);
  await expectClosedAfter(
    node.scPort,
    requestFrame(p.ScApiKey.List, 200, 1, (w) =>
      p.encodeListRequest(w, { kind: 'Topic', nameFilters: [], summary: false, system: false }, 200),
    ),
    /api_version 200 of api key 1003/,
  );
  await expectClosedAfter(node.scPort, apiVersionsFrame(1, -1), /api_version -1 of api key 18/);
  // The advertised versions keep working, including on the connection that asked for them.
  const client = await RawClient.connect(node.spuPort);
  const versions = await apiVersions(client);
  const produceRange = versions.apiKeys.find((key) => key.apiKey === p.SpuApiKey.Produce)!;
  const ok = await produceValues(client, 'health', 0, [`at v${produceRange.maxVersion}`]);
  assert.equal(ok.errorCode.code, p.ErrorCode.None);
  await client.close();
  await assertHealthy();
});

test('a batch with a bad CRC is refused in its own partition entry; the other entries of the request are stored', async () => {
  await createTopic(node, 'crc', 2);
  const store0 = node.replicas.get('crc', 0)!;
  const store1 = node.replicas.get('crc', 1)!;
  const corrupt = batchOf(['corrupt-1', 'corrupt-2']);
  corrupt[corrupt.length - 1] ^= 0x01; // a bit of the last record's value; the CRC no longer matches
  const wrongCrc = batchOf(['wrong-crc']);
  wrongCrc.writeUInt32BE((wrongCrc.readUInt32BE(p.BatchOffset.crc) + 1) >>> 0, p.BatchOffset.crc);

  const client = await RawClient.connect(node.spuPort);
  await apiVersions(client);
  const response = await produce(client, 'crc', [
    { partition: 0, records: batchOf(['good-a']) },
    { partition: 0, records: corrupt },
    { partition: 1, records: batchOf(['good-b', 'good-c']) },
    { partition: 1, records: wrongCrc },
    // A good batch followed by a corrupt one in the same entry: the whole entry is refused.
    { partition: 0, records: Buffer.concat([batchOf(['same-entry-good']), corrupt]) },
    { partition: 0, records: batchOf(['good-d']) },
  ]);
  const entries = response.responses[0].partitions;
  assert.deepEqual(
    entries.map((entry) => [entry.partitionIndex, entry.errorCode.code === p.ErrorCode.None]),
    [
      [0, true],
      [0, false],
      [1, true],
      [1, false],
      [0, false],
      [0, true],
    ],
  );
  for (const refused of [entries[1], entries[3], entries[4]]) {
    assert.equal(refused.errorCode.code, p.ErrorCode.Other);
    assert.match(p.describeError(refused.errorCode), /CRC mismatch/);
  }
  assert.equal(entries[0].baseOffset, 0);
  assert.equal(entries[5].baseOffset, 1);
  assert.equal(entries[2].baseOffset, 0);
  assert.equal(store0.highWatermark(), 2, 'partition 0 holds good-a and good-d only');
  assert.equal(store1.highWatermark(), 2, 'partition 1 holds good-b and good-c only');

  // The connection stays usable, and the stored records are exactly the good ones.
  const values: string[] = [];
  const done = new Promise<void>((resolve) => {
    streamFetch(client, 'crc', 0, 0, (frame) => {
      values.push(...recordsOf(frame).map((record) => record.value));
      if (values.length >= 2) resolve();
    });
  });
  await done;
  assert.deepEqual(values, ['good-a', 'good-d']);
  assert.equal((await fetchOffsets(client, 'crc', 1)).lastStableOffset, 2);
  await client.close();
  await assertHealthy();
});

test('a truncated record set: a torn batch is refused in its entry, a RecordSet longer than the frame closes the connection', async () => {
  await createTopic(node, 'torn');
  const store = node.replicas.get('torn', 0)!;
  const whole = batchOf(['torn-1', 'torn-2', 'torn-3']);
  const client = await RawClient.connect(node.spuPort);
  await apiVersions(client);
  // The RecordSet length matches the bytes sent, but the batch inside is cut short (its batch_len says more).
  const torn = await produce(client, 'torn', [
    { partition: 0, records: whole.subarray(0, whole.length - 5) },
    { partition: 0, records: whole.subarray(0, 30) },
    { partition: 0, records: whole.subarray(0, 8) },
    { partition: 0, records: batchOf(['after-torn']) },
  ]);
  const codes = torn.responses[0].partitions.map((entry) => entry.errorCode.code);
  assert.notEqual(codes[0], p.ErrorCode.None);
  assert.notEqual(codes[1], p.ErrorCode.None);
  assert.notEqual(codes[2], p.ErrorCode.None);
  assert.equal(codes[3], p.ErrorCode.None);
  assert.equal(store.highWatermark(), 1, 'only the intact batch is stored');
  // The same connection still works.
  assert.equal((await produceValues(client, 'torn', 0, ['still-open'])).errorCode.code, p.ErrorCode.None);
  assert.equal(store.highWatermark(), 2);
  await client.close();

  // The RecordSet length prefix claims more bytes than the frame holds: the request itself is malformed.
  const request = Buffer.from(
    requestFrame(p.SpuApiKey.Produce, PRODUCE_VERSION, 1, (w) => encodeProduceBody(w, 'torn', [{ partition: 0, records: whole }])),
  );
  const recordSetLengthAt = request.indexOf(whole) - 4;
  assert.equal(request.readInt32BE(recordSetLengthAt), whole.length);
  request.writeInt32BE(whole.length + 1000, recordSetLengthAt);
  await expectClosedAfter(node.spuPort, request, /malformed request \(api key 0 v23\)/);
  request.writeInt32BE(-1, recordSetLengthAt);
  await expectClosedAfter(node.spuPort, request, /negative RecordSet length/);
  assert.equal(store.highWatermark(), 2);
  await assertHealthy();
});

test('a client that disconnects in the middle of a stream fetch leaves no session, listener or connection behind', async () => {
  await createTopic(node, 'vanish');
  const store = node.replicas.get('vanish', 0)!;
  // Count the stream sessions' subscriptions to the store's appends.
  let appendListeners = 0;
  const onAppend = store.onAppend.bind(store);
  store.onAppend = (listener) => {
    appendListeners++;
    const unsubscribe = onAppend(listener);
    return () => {
      appendListeners--;
      unsubscribe();
    };
  };
  const producer = await RawClient.connect(node.spuPort);
  await apiVersions(producer);
  for (let i = 0; i < 20; i++) {
    await produceValues(producer, 'vanish', 0, Array.from({ length: 50 }, (_, j) => `v${i}-${j}-${'p'.repeat(500)}`));
  }
  const baseline = node.stats().streamFetches;

  // 1. Mid-stream: data arrived, not acknowledged, then the socket goes.
  // 2. Tailing: waiting at the end of the log for new data.
  // 3. Several streams on one connection, one of them acknowledged once.
  // 4. Backlogged: small frames, never read, lots queued.
  for (const scenario of ['mid-stream', 'tailing', 'several', 'backlogged'] as const) {
    const consumer = await RawClient.connect(node.spuPort);
    await apiVersions(consumer);
    let frames = 0;
    const firstFrame = new Promise<p.StreamFetchResponse>((resolve) => {
      const onFrame = (response: p.StreamFetchResponse) => {
        frames++;
        resolve(response);
      };
      if (scenario === 'mid-stream') streamFetch(consumer, 'vanish', 0, 0, onFrame, 4096);
      if (scenario === 'tailing') {
        streamFetch(consumer, 'vanish', 0, store.highWatermark(), onFrame);
        setTimeout(() => void produceValues(producer, 'vanish', 0, ['wake']), 50);
      }
      if (scenario === 'several') {
        for (let i = 0; i < 5; i++) streamFetch(consumer, 'vanish', 0, i * 100, onFrame, 2048);
      }
      if (scenario === 'backlogged') {
        consumer.socket.pause();
        for (let i = 0; i < 20; i++) streamFetch(consumer, 'vanish', 0, 0, () => {}, 1);
        setTimeout(() => resolve({} as p.StreamFetchResponse), 300);
      }
    });
    const first = await firstFrame;
    if (scenario === 'several') await updateOffsets(consumer, first.streamId, 10);
    assert.ok(node.stats().streamFetches > baseline, `${scenario}: the stream is open`);
    assert.ok(appendListeners > 0);
    await consumer.close();
    await waitFor(() => node.stats().streamFetches === baseline, `${scenario}: stream sessions to end`);
    assert.equal(appendListeners, 0, `${scenario}: no append listener left on the store`);
    assert.ok(frames >= 0);
  }
  // Appends with no stream left wake nobody and still succeed.
  assert.equal((await produceValues(producer, 'vanish', 0, ['after'])).errorCode.code, p.ErrorCode.None);
  await producer.close();
  await assertHealthy();
});

test('a connection that stalls mid-frame and disconnects is cleaned up', async () => {
  const client = await RawClient.connect(node.spuPort);
  const frame = apiVersionsFrame();
  client.sendRaw(frame.subarray(0, frame.length - 5));
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(client.isClosed, false, 'an incomplete frame is waited for');
  assert.equal(node.stats().spuConnections, 1);
  await client.close();
  await assertHealthy();
});

test('a connection that stalls mid-frame after its handshake is closed after frameTimeoutMs, with the reason logged; on both listeners', async () => {
  for (const port of [node.spuPort, node.scPort]) {
    const logsBefore = logLines.length;
    const client = await RawClient.connect(port);
    await apiVersions(client);
    // A length prefix and part of the frame, then nothing.
    const frame = apiVersionsFrame(2);
    client.sendRaw(frame.subarray(0, 10));
    assert.ok(await client.closedWithin(FRAME_TIMEOUT_MS + CLOSE_WITHIN_MS), 'the server should close the stalled connection');
    const reasons = logLines.slice(logsBefore).filter((line) => line.includes('closing connection'));
    assert.ok(reasons.some((line) => /stalled mid-frame: 10 bytes of a frame/.test(line)), `got:\n${reasons.join('')}`);
  }
  // A connection that trickles a frame in, each part well within the timeout, but not the whole frame: closed too.
  const client = await RawClient.connect(node.spuPort);
  await apiVersions(client);
  const frame = apiVersionsFrame(3);
  let sent = 0;
  const trickle = setInterval(() => {
    if (sent < frame.length - 1) client.sendRaw(frame.subarray(sent, ++sent));
  }, FRAME_TIMEOUT_MS / 10);
  try {
    assert.ok(await client.closedWithin(FRAME_TIMEOUT_MS + CLOSE_WITHIN_MS), 'a frame that takes longer than the timeout closes the connection');
  } finally {
    clearInterval(trickle);
  }
  await assertHealthy();
});

test('an idle connection between frames is left open', async () => {
  const client = await RawClient.connect(node.spuPort);
  await apiVersions(client);
  await new Promise((resolve) => setTimeout(resolve, FRAME_TIMEOUT_MS * 2));
  assert.equal(client.isClosed, false, 'no partial frame: no deadline');
  await apiVersions(client);
  await client.close();
});

test('after all of the above, the real @fluvio/client still produces and consumes', async () => {
  const fluvio = await connectFluvio(node.endpoint);
  const admin = await fluvio.admin();
  await admin.createTopic('after-bad-input', { partitions: 1, replicationFactor: 1, ignoreRackAssignment: false });
  const producer = await fluvio.topicProducer('after-bad-input');
  for (let i = 0; i < 10; i++) await producer.send(`k${i}`, `v${i}`);
  await producer.flush();
  const consumer = await fluvio.partitionConsumer('after-bad-input', 0);
  const records = await take(await consumer.createStream(new Offset({ index: 0, from: 'beginning' })), 10);
  assert.deepEqual(
    records.map((record) => record.valueString()),
    Array.from({ length: 10 }, (_, i) => `v${i}`),
  );
  const healthConsumer = await fluvio.partitionConsumer('health', 0);
  const [last] = await take(await healthConsumer.createStream(new Offset({ index: 1, from: 'end' })), 1);
  assert.match(last.valueString(), /^health-/);
});
