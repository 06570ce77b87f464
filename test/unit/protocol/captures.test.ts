// Every frame the real @fluvio/client 0.14.9 exchanged with a scratch server:
// decoded, checked for full consumption, re-encoded byte for byte.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as p from '../../../src/protocol/index.js';
import {
  decodeRequestFrame,
  decodeResponseFrame,
  encodeRequestFrame,
  encodeResponseFrame,
  loadFrames,
  type PairedFrame,
} from './helpers.js';

const frames = loadFrames();

function find(predicate: (frame: PairedFrame) => boolean): PairedFrame {
  const frame = frames.find(predicate);
  assert.ok(frame, 'captured frame exists');
  return frame;
}

function request<T>(frame: PairedFrame): { header: p.RequestHeader; body: T } {
  const decoded = decodeRequestFrame(frame.bytes, frame.side);
  return { header: decoded.header, body: decoded.body as T };
}

function response<T>(frame: PairedFrame): T {
  return decodeResponseFrame(frame.bytes, frame.side, frame.apiKey, frame.version).body as T;
}

const byFlow = (flow: string, dir: 'req' | 'resp', apiKey: number) => (frame: PairedFrame) =>
  frame.flow === flow && frame.dir === dir && frame.apiKey === apiKey;

test('captures: there are frames for every flow', () => {
  assert.equal(frames.length, 85);
});

for (const frame of frames) {
  const label = `captures: #${frame.index} ${frame.flow} ${frame.side} ${frame.dir} key ${frame.apiKey} v${frame.version} corr ${frame.corr}${frame.note ? ` (${frame.note})` : ''}`;
  test(`${label} decodes fully and re-encodes identically`, () => {
    if (frame.dir === 'req') {
      const { header, body } = decodeRequestFrame(frame.bytes, frame.side);
      assert.equal(header.apiKey, frame.apiKey);
      assert.equal(header.apiVersion, frame.apiVersion);
      assert.equal(header.correlationId, frame.corr);
      assert.deepEqual(encodeRequestFrame(header, body, frame.side), frame.bytes);
    } else {
      const { correlationId, body } = decodeResponseFrame(frame.bytes, frame.side, frame.apiKey, frame.version);
      assert.equal(correlationId, frame.corr);
      assert.deepEqual(encodeResponseFrame(correlationId, body, frame.side, frame.apiKey, frame.version), frame.bytes);
    }
  });
}

test('captures: handshake and advertised versions', () => {
  const handshake = request<p.ApiVersionsRequest>(find(byFlow('connect', 'req', 18)));
  assert.deepEqual(handshake.header, { apiKey: 18, apiVersion: 2, correlationId: 1, clientId: 'fluvio' });
  assert.deepEqual(handshake.body, { clientVersion: '0.14.9', clientOs: 'linux', clientArch: 'x86_64' });

  const sc = response<p.ApiVersionsResponse>(find(byFlow('connect', 'resp', 18)));
  assert.equal(sc.platformVersion, '0.11.11');
  assert.deepEqual(sc.apiKeys, p.SC_API_VERSIONS);

  const spu = response<p.ApiVersionsResponse>(find(byFlow('flush', 'resp', 18)));
  assert.equal(spu.platformVersion, '0.0.0');
  assert.deepEqual(spu.apiKeys, p.SPU_API_VERSIONS_FLUVIO);
  assert.deepEqual(p.SPU_API_VERSIONS.slice(0, 5), spu.apiKeys);
});

test('captures: watches use client_id "dummy" and an SPU snapshot routes to 127.0.0.1:9005', () => {
  const watch = request<p.WatchRequest>(find(byFlow('connect', 'req', 1004)));
  assert.equal(watch.header.clientId, 'dummy');
  assert.deepEqual(watch.body, { kind: 'SPU', epoch: 0, summary: false });

  const snapshot = response<p.WatchResponse>(find((f) => f.note === 'watch initial SPU'));
  assert.equal(snapshot.kind, 'SPU');
  if (snapshot.kind !== 'SPU') return;
  assert.equal(snapshot.update.epoch, 1);
  assert.equal(snapshot.update.all.length, 1);
  const spu = snapshot.update.all[0];
  assert.equal(spu.name, 'custom-spu-5001');
  assert.equal(spu.spec.id, 5001);
  assert.equal(spu.spec.spuType, p.SpuType.Custom);
  assert.equal(spu.spec.publicEndpoint.port, 9005);
  assert.deepEqual(spu.spec.publicEndpoint.ingress, [{ ip: '127.0.0.1' }]);
  assert.deepEqual(spu.spec.privateEndpoint, { port: 9006, host: '127.0.0.1', encryption: p.Encryption.PLAINTEXT });
  assert.equal(spu.status.resolution, p.SpuStatusResolution.Online);
});

test('captures: createTopic sends a Computed TopicSpec with compression Any', () => {
  const create = request<p.CreateRequest>(find(byFlow('create', 'req', 1001)));
  assert.equal(create.body.kind, 'Topic');
  if (create.body.kind !== 'Topic') return;
  assert.equal(create.body.name, 'demo');
  assert.equal(create.body.dryRun, false);
  assert.equal(create.body.timeout, undefined);
  assert.deepEqual(create.body.spec, {
    replicas: { type: 'Computed', partitions: 1, replicationFactor: 1, ignoreRackAssignment: false },
    compressionType: p.CompressionAlgorithm.Any,
    system: false,
  });
  assert.deepEqual(response<p.Status>(find(byFlow('create', 'resp', 1001))), { name: 'demo', errorCode: { code: 0 } });
});

test('captures: create pushes Topic and Partition deltas on the watch correlation ids', () => {
  const topicPush = find((f) => f.flow === 'create' && f.note === 'watch push Topic');
  assert.equal(topicPush.corr, 3);
  const topic = response<p.WatchResponse>(topicPush);
  assert.equal(topic.kind, 'Topic');
  if (topic.kind !== 'Topic') return;
  assert.equal(topic.update.all.length, 0);
  assert.equal(topic.update.changes.length, 1);
  const change = topic.update.changes[0];
  assert.equal(change.kind, 'update');
  assert.equal(change.content.name, 'demo');
  assert.equal(change.content.status.resolution, p.TopicResolution.Provisioned);
  assert.deepEqual([...change.content.status.replicaMap], [[0, [5001]]]);
  assert.equal(p.topicPartitionCount(change.content.spec), 1);

  const partition = response<p.WatchResponse>(find((f) => f.flow === 'create' && f.note === 'watch push Partition'));
  assert.equal(partition.kind, 'Partition');
  if (partition.kind !== 'Partition') return;
  const meta = partition.update.changes[0].content;
  assert.equal(meta.name, 'demo-0');
  assert.equal(meta.spec.leader, 5001);
  assert.deepEqual(meta.status.leader, { spu: 5001, hw: 0, leo: 0 });
  assert.equal(meta.status.size, -1);
  assert.equal(meta.status.resolution, p.PartitionResolution.Online);
});

test('captures: duplicate create and missing delete carry 2002 / 2001 with the client texts', () => {
  const dup = response<p.Status>(find(byFlow('create_dup', 'resp', 1001)));
  assert.equal(dup.errorCode.code, p.ErrorCode.TopicAlreadyExists);
  assert.equal(dup.errorMessage, "Topic 'demo' already exists");
  assert.equal(p.errorText(dup.errorCode.code), 'Topic already exists');

  const missing = response<p.Status>(find(byFlow('delete_missing', 'resp', 1002)));
  assert.equal(missing.name, 'nope');
  assert.equal(missing.errorCode.code, p.ErrorCode.TopicNotFound);
  assert.equal(p.errorText(missing.errorCode.code), 'Topic not found');
});

test('captures: List requests and responses', () => {
  const list = request<p.ListRequest>(find(byFlow('listpart', 'req', 1003)));
  assert.deepEqual(list.body, { kind: 'Partition', nameFilters: [], summary: false, system: false });
  const topics = response<p.ListResponse>(find(byFlow('list', 'resp', 1003)));
  assert.equal(topics.kind, 'Topic');
  if (topics.kind === 'Topic') assert.deepEqual(topics.items.map((item) => item.name), ['demo']);
  const spus = response<p.ListResponse>(find(byFlow('listspu', 'resp', 1003)));
  assert.equal(spus.kind, 'SPU');
  const empty = response<p.ListResponse>(find(byFlow('list_after_delete', 'resp', 1003)));
  assert.deepEqual(empty, { kind: 'Topic', items: [] });
});

test('captures: delete request and the DELETE deltas pushed to both watch sets', () => {
  const del = request<p.DeleteRequest>(find(byFlow('delete', 'req', 1002)));
  assert.deepEqual(del.body, { kind: 'Topic', key: 'demo', force: false });
  const pushes = frames.filter((f) => f.flow === 'delete' && f.apiKey === 1004);
  assert.deepEqual(pushes.map((f) => f.corr), [3, 12, 2, 11]);
  for (const push of pushes) {
    const update = response<p.WatchResponse>(push);
    assert.notEqual(update.kind, 'Unsupported');
    if (update.kind === 'Unsupported') return;
    assert.deepEqual(update.update.changes.map((change) => change.kind), ['delete']);
  }
});

test('captures: Produce v23 carries one batch whose records decode', () => {
  const produce = request<p.ProduceRequest>(find(byFlow('flush', 'req', 0)));
  assert.equal(produce.header.apiVersion, 23);
  assert.equal(produce.body.transactionalId, undefined);
  assert.equal(produce.body.isolation, p.Isolation.ReadUncommitted);
  assert.equal(produce.body.timeoutMs, 1500);
  assert.deepEqual(produce.body.smartmodules, []);
  assert.equal(produce.body.topics.length, 1);
  assert.equal(produce.body.topics[0].name, 'demo');
  const [partition] = produce.body.topics[0].partitions;
  assert.equal(partition.partitionIndex, 0);
  assert.equal(partition.records.length, 92);
  const batches = p.splitRecordSet(partition.records);
  assert.equal(batches.length, 1);
  const header = p.validateBatch(batches[0]);
  assert.equal(header.baseOffset, 1);
  assert.equal(header.firstTimestamp, 1795663359308);
  const records = p.decodeRecords(batches[0]);
  assert.deepEqual(
    records.map((record) => [record.key?.toString(), record.value.toString(), record.timestamp]),
    [
      ['', 'hello', 1795663359308],
      ['key1', 'value1', 1795663359309],
    ],
  );

  const res = response<p.ProduceResponse>(find(byFlow('flush2', 'resp', 0)));
  assert.equal(res.responses[0].partitions[0].baseOffset, 2);
  assert.equal(res.responses[0].partitions[0].logAppendTimeMs, -1);
});

test('captures: FetchOffsets request and the LEO as last_stable_offset', () => {
  const req = request<p.FetchOffsetsRequest>(find(byFlow('createStream', 'req', 1002)));
  assert.deepEqual(req.body, { topics: [{ name: 'demo', partitions: [{ partitionIndex: 0 }] }] });
  const res = response<p.FetchOffsetsResponse>(find(byFlow('createStream', 'resp', 1002)));
  assert.deepEqual(res.topics[0].partitions[0], {
    errorCode: { code: 0 },
    partitionIndex: 0,
    startOffset: 0,
    lastStableOffset: 4,
  });
});

test('captures: StreamFetch requests carry the SmartModule invocations', () => {
  const plain = request<p.StreamFetchRequest>(find(byFlow('createStream', 'req', 1003)));
  assert.deepEqual(plain.body, {
    topic: 'demo',
    partition: 0,
    fetchOffset: 0,
    maxBytes: 1048890,
    isolation: p.Isolation.ReadUncommitted,
    smartmodules: [],
  });

  const named = request<p.StreamFetchRequest>(find(byFlow('streamWithConfig_name', 'req', 1003))).body;
  assert.equal(named.maxBytes, 4096);
  assert.deepEqual(named.smartmodules, [
    { wasm: { type: 'Predefined', name: 'my-filter' }, kind: { type: 'Filter' }, params: { params: new Map() } },
  ]);

  const data = request<p.StreamFetchRequest>(find(byFlow('streamWithConfig_data', 'req', 1003))).body;
  assert.equal(data.fetchOffset, 4);
  assert.equal(data.smartmodules.length, 1);
  assert.deepEqual(data.smartmodules[0].kind, { type: 'Map' });
  assert.equal(data.smartmodules[0].wasm.type, 'AdHoc');
  if (data.smartmodules[0].wasm.type === 'AdHoc') assert.equal(data.smartmodules[0].wasm.payload.length, 8);

  const file = request<p.StreamFetchRequest>(find(byFlow('streamWithConfig_file', 'req', 1003))).body;
  assert.equal(file.fetchOffset, 2);
  assert.deepEqual(file.smartmodules[0].kind, { type: 'ArrayMap' });
  const wasm = file.smartmodules[0].wasm;
  assert.equal(wasm.type, 'AdHoc');
  if (wasm.type === 'AdHoc') {
    assert.equal(wasm.payload.length, 28);
    assert.equal(wasm.payload.subarray(0, 3).toString('hex'), '1f8b08');
  }
  assert.equal(file.smartmodules[0].params.lookback, undefined);
  assert.equal(file.consumerId, undefined);
});

test('captures: StreamFetch responses carry stored batches; the inj stream includes gzip and a bad CRC', () => {
  const initial = response<p.StreamFetchResponse>(find((f) => f.flow === 'createStream' && f.note === 'stream initial'));
  assert.equal(initial.streamId, 1);
  assert.equal(initial.partition.highWatermark, 4);
  assert.equal(initial.partition.nextFilterOffset, 0);
  assert.ok(Buffer.isBuffer(initial.partition.records));
  const batches = p.splitRecordSet(initial.partition.records as Buffer);
  assert.deepEqual(batches.map((batch) => p.validateBatch(batch).baseOffset), [0, 2]);

  const push = find((f) => f.note === 'stream push');
  assert.equal(push.corr, 4, 'pushes reuse the StreamFetch correlation id');

  const inj = response<p.StreamFetchResponse>(find((f) => f.flow === 'createStream_inj' && f.apiKey === 1003 && f.dir === 'resp'));
  const injBatches = p.splitRecordSetLenient(inj.partition.records as Buffer);
  assert.equal(injBatches.length, 3);
  p.validateBatch(injBatches[0]);
  p.validateBatch(injBatches[1]);
  assert.throws(() => p.validateBatch(injBatches[2]), (err: unknown) => err instanceof p.BatchError && /CRC/.test(err.message));
  const records = injBatches.flatMap((batch) => p.decodeRecords(batch));
  assert.deepEqual(
    records.map((record) => [record.offset, record.key === null ? null : record.key.toString(), record.value.toString()]),
    [
      [0, 'a', 'plain1'],
      [1, null, 'plain2-nullkey'],
      [2, 'g1', 'gzipped1'],
      [3, 'g2', 'gzipped2'],
      [4, 'bad', 'badcrc'],
    ],
  );
});

test('captures: UpdateOffsets acknowledges with the stream id as session id', () => {
  const req = request<p.UpdateOffsetsRequest>(find(byFlow('stream_next', 'req', 1005)));
  assert.equal(req.header.apiVersion, 0);
  assert.deepEqual(req.body, { offsets: [{ offset: 4, sessionId: 1 }] });
  const res = response<p.UpdateOffsetsResponse>(find(byFlow('stream_next', 'resp', 1005)));
  assert.deepEqual(res, { status: [{ sessionId: 1, error: { code: 0 } }] });
});
