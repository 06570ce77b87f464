// Layouts the captures do not exercise: other versions, every variant,
// checked against Fluvio's own test vectors where it has them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as p from '../../../src/protocol/index.js';
import type { Reader, Writer } from '../../../src/protocol/codec.js';

const hex = (value: string) => Buffer.from(value.replace(/\s+/g, ''), 'hex');
const bytes = (...values: number[]) => Buffer.from(values);

function encode<T>(write: (w: Writer, value: T, version: number) => void, value: T, version: number): Buffer {
  const w = new p.Writer();
  write(w, value, version);
  return w.finish();
}

function decode<T>(read: (r: Reader, version: number) => T, buf: Buffer, version: number): T {
  const r = new p.Reader(buf);
  const value = read(r, version);
  r.expectEnd('message');
  return value;
}

/** encode → decode gives the value back, and re-encoding gives the same bytes. */
function roundTrip<T>(
  write: (w: Writer, value: T, version: number) => void,
  read: (r: Reader, version: number) => T,
  value: T,
  version: number,
): Buffer {
  const buf = encode(write, value, version);
  const decoded = decode(read, buf, version);
  assert.deepEqual(decoded, value);
  assert.deepEqual(encode(write, decoded, version), buf);
  return buf;
}

const adHocFilter: p.SmartModuleInvocation = {
  wasm: { type: 'AdHoc', payload: bytes(0xde, 0xad, 0xbe, 0xef) },
  kind: { type: 'Filter' },
  params: { params: new Map() },
};

test('stream fetch request: Fluvio vectors at v18, v22 and v23', () => {
  const base = { topic: 'one', partition: 3, fetchOffset: 0, maxBytes: 0, isolation: p.Isolation.ReadUncommitted };
  const v18 = bytes(
    0x00, 0x03, 0x6f, 0x6e, 0x65, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 0x04, 0xde, 0xad, 0xbe, 0xef, 0x00,
    0x00, 0x00,
  );
  assert.deepEqual(encode(p.encodeStreamFetchRequest, { ...base, smartmodules: [adHocFilter] }, 18), v18);
  assert.deepEqual(decode(p.decodeStreamFetchRequest, v18, 18), {
    ...base,
    wasmModule: Buffer.alloc(0),
    smartmodules: [adHocFilter],
  });

  const withLookback = { ...adHocFilter, params: { params: new Map<string, string>(), lookback: { last: 1 } } };
  const v23 = bytes(
    0x00, 0x03, 0x6f, 0x6e, 0x65, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00,
    0x00, 0x00, 0x04, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
  );
  assert.deepEqual(roundTrip(p.encodeStreamFetchRequest, p.decodeStreamFetchRequest, { ...base, smartmodules: [withLookback] }, 23), v23);
  const v22 = v23.subarray(0, v23.length - 1);
  assert.deepEqual(roundTrip(p.encodeStreamFetchRequest, p.decodeStreamFetchRequest, { ...base, smartmodules: [withLookback] }, 22), v22);
});

test('stream fetch request: legacy fields live only in 11..18 and 16..18', () => {
  const legacy: p.StreamFetchRequest = {
    topic: 't',
    partition: 0,
    fetchOffset: 7,
    maxBytes: 100,
    isolation: p.Isolation.ReadCommitted,
    wasmModule: Buffer.from('wasm'),
    smartmodule: {
      wasm: { type: 'Predefined', name: 'agg' },
      kind: { type: 'Aggregate', accumulator: Buffer.from('0') },
      params: { params: new Map([['k', 'v']]) },
    },
    derivedstream: { stream: 'ds', params: { params: new Map([['a', 'b']]) } },
    smartmodules: [],
  };
  roundTrip(p.encodeStreamFetchRequest, p.decodeStreamFetchRequest, legacy, 16);
  const v10 = encode(p.encodeStreamFetchRequest, legacy, 10);
  assert.equal(v10.length, 3 + 4 + 8 + 4 + 1, 'v10 has only the five base fields');
  const v11 = decode(p.decodeStreamFetchRequest, encode(p.encodeStreamFetchRequest, legacy, 11), 11);
  assert.deepEqual(v11.wasmModule, Buffer.from('wasm'));
  assert.equal(v11.smartmodule, undefined);
  // v18 carries both the legacy fields and the chain.
  roundTrip(p.encodeStreamFetchRequest, p.decodeStreamFetchRequest, { ...legacy, smartmodules: [adHocFilter] }, 18);
  // v19 drops them again.
  const v19 = decode(p.decodeStreamFetchRequest, encode(p.encodeStreamFetchRequest, legacy, 19), 19);
  assert.equal(v19.wasmModule, undefined);
  assert.equal(v19.derivedstream, undefined);
  assert.throws(() => decode(p.decodeStreamFetchRequest, hex('0001 74 00000000 0000000000000000 00000000 02'), 0), /isolation: unknown variant tag 2/);
});

test('smartmodule invocation: every kind and context round-trips; lookback gated by version', () => {
  const kinds: p.SmartModuleKind[] = [
    { type: 'Filter' },
    { type: 'Map' },
    { type: 'ArrayMap' },
    { type: 'Aggregate', accumulator: Buffer.from([1, 2]) },
    { type: 'FilterMap' },
    { type: 'Join', topic: 'other' },
    { type: 'JoinStream', topic: 'other', derivedstream: 'ds' },
    { type: 'Generic', context: { type: 'None' } },
    { type: 'Generic', context: { type: 'Aggregate', accumulator: Buffer.from('acc') } },
    { type: 'Generic', context: { type: 'Join', topic: 'j' } },
    { type: 'Generic', context: { type: 'JoinStream', topic: 'j', derivedstream: 'd' } },
  ];
  for (const kind of kinds) {
    const invocation: p.SmartModuleInvocation = {
      wasm: { type: 'Predefined', name: 'sm' },
      kind,
      params: { params: new Map([['z', '1'], ['a', '2']]), lookback: { last: 10, age: { seconds: 60, nanos: 0 } } },
    };
    const buf = roundTrip(p.encodeSmartModuleInvocation, (r, v) => p.decodeSmartModuleInvocation(r, v), invocation, 23);
    // params are written sorted, as a BTreeMap
    assert.ok(buf.indexOf(Buffer.from('0001610001320001', 'hex')) < buf.indexOf(Buffer.from('00017a', 'hex')));
  }
  const aged: p.SmartModuleInvocation = { ...adHocFilter, params: { params: new Map(), lookback: { last: 1, age: { seconds: 20, nanos: 0 } } } };
  assert.deepEqual(decode((r, v) => p.decodeSmartModuleInvocation(r, v), encode(p.encodeSmartModuleInvocation, aged, 20), 20).params, {
    params: new Map(),
    lookback: { last: 1 },
  });
  assert.deepEqual(decode((r, v) => p.decodeSmartModuleInvocation(r, v), encode(p.encodeSmartModuleInvocation, aged, 19), 19).params, {
    params: new Map(),
  });
  assert.throws(() => decode((r, v) => p.decodeSmartModuleInvocation(r, v), hex('02'), 23), /wasm: unknown variant tag 2/);
  assert.throws(() => decode((r, v) => p.decodeSmartModuleInvocation(r, v), hex('00 0001 61 08'), 23), /unknown SmartModule kind tag 8/);
});

test('produce request: Fluvio vectors at v8, v22 and v23', () => {
  const request: p.ProduceRequest = {
    transactionalId: 't_id',
    isolation: p.Isolation.ReadCommitted,
    timeoutMs: 1000,
    topics: [],
    smartmodules: [adHocFilter],
  };
  const v8 = bytes(
    0x01, 0x00, 0x04, 0x74, 0x5f, 0x69, 0x64, 0xff, 0xff, 0x00, 0x00, 0x03, 0xe8, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 0x04, 0xde, 0xad,
    0xbe, 0xef, 0x00, 0x00, 0x00,
  );
  assert.deepEqual(roundTrip(p.encodeProduceRequest, p.decodeProduceRequest, request, 8), v8);
  const withLookback = { ...request, smartmodules: [{ ...adHocFilter, params: { params: new Map<string, string>(), lookback: { last: 1 } } }] };
  assert.deepEqual(
    roundTrip(p.encodeProduceRequest, p.decodeProduceRequest, withLookback, 23),
    Buffer.concat([v8, hex('01 0000000000000001 00')]),
  );
  const aged = {
    ...request,
    smartmodules: [{ ...adHocFilter, params: { params: new Map<string, string>(), lookback: { last: 1, age: { seconds: 20, nanos: 0 } } } }],
  };
  assert.deepEqual(
    roundTrip(p.encodeProduceRequest, p.decodeProduceRequest, aged, 22),
    Buffer.concat([v8, hex('01 0000000000000001 01 0000000000000014 00000000')]),
  );
  // Before v8 there is no smartmodules field; transactional_id is always there.
  const v7 = encode(p.encodeProduceRequest, { ...request, smartmodules: [] }, 7);
  assert.deepEqual(v7, v8.subarray(0, 17));
  // Any negative acks means ReadCommitted; a negative timeout is refused as Fluvio does.
  assert.equal(decode(p.decodeProduceRequest, hex('00 fffe 00000001 00000000'), 7).isolation, p.Isolation.ReadCommitted);
  assert.equal(decode(p.decodeProduceRequest, hex('00 0000 00000001 00000000'), 7).isolation, p.Isolation.ReadUncommitted);
  assert.throws(() => decode(p.decodeProduceRequest, hex('00 0001 ffffffff 00000000'), 7), /timeout -1 ms is negative/);
  assert.throws(
    () => decode(p.decodeProduceRequest, hex('00 0001 00000001 00000001 0001 74 00000001 00000000 ffffffff'), 7),
    /negative RecordSet length/,
  );
});

test('produce response: optional fields by version', () => {
  const response: p.ProduceResponse = {
    responses: [
      {
        name: 'demo',
        partitions: [
          { partitionIndex: 0, errorCode: { code: 0 }, baseOffset: 5, logAppendTimeMs: -1, logStartOffset: 0 },
          { partitionIndex: 0, errorCode: { code: p.ErrorCode.NotLeaderForPartition }, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1 },
        ],
      },
    ],
    throttleTimeMs: 3,
  };
  roundTrip(p.encodeProduceResponse, p.decodeProduceResponse, response, 23);
  const v0 = encode(p.encodeProduceResponse, response, 0);
  assert.equal(v0.length, 4 + 6 + 4 + 2 * (4 + 2 + 8));
  assert.equal(encode(p.encodeProduceResponse, response, 1).length, v0.length + 4);
  assert.equal(encode(p.encodeProduceResponse, response, 2).length, v0.length + 4 + 16);
  assert.equal(encode(p.encodeProduceResponse, response, 5).length, v0.length + 4 + 32);
});

test('stream fetch response: next_filter_offset from v11, aborted transactions, record chunks by reference', () => {
  const batch = p.encodeBatch([{ value: Buffer.alloc(600, 1) }], { firstTimestamp: 1, baseOffset: 0 });
  const response: p.StreamFetchResponse = {
    topic: 'demo',
    streamId: 9,
    partition: {
      partitionIndex: 2,
      errorCode: { code: p.ErrorCode.TopicDeleted },
      highWatermark: 10,
      nextFilterOffset: 8,
      logStartOffset: 1,
      aborted: [{ producerId: 4, firstOffset: 5 }],
      records: [batch, batch],
    },
  };
  const w = new p.Writer();
  p.encodeStreamFetchResponse(w, response, 23);
  const chunks = w.finishChunks();
  assert.equal(chunks.filter((chunk) => chunk === batch).length, 2, 'batches are not copied');
  const decoded = decode(p.decodeStreamFetchResponse, Buffer.concat(chunks), 23);
  assert.deepEqual(decoded, { ...response, partition: { ...response.partition, records: Buffer.concat([batch, batch]) } });
  const v10 = decode(p.decodeStreamFetchResponse, encode(p.encodeStreamFetchResponse, response, 10), 10);
  assert.equal(v10.partition.nextFilterOffset, 0);
  const noRecords = { ...response, partition: { ...response.partition, aborted: undefined, records: [] } };
  const empty = decode(p.decodeStreamFetchResponse, encode(p.encodeStreamFetchResponse, noRecords, 23), 23);
  assert.deepEqual(empty.partition.records, Buffer.alloc(0));
  assert.equal('aborted' in empty.partition, false);
});

test('consumer offsets (1006..1008) round-trip', () => {
  roundTrip(p.encodeUpdateConsumerOffsetRequest, p.decodeUpdateConsumerOffsetRequest, { offset: 42, sessionId: 3 }, 23);
  assert.deepEqual(
    encode(p.encodeUpdateConsumerOffsetRequest, { offset: 42, sessionId: 3 }, 23),
    hex('000000000000002a 00000003'),
  );
  roundTrip(p.encodeUpdateConsumerOffsetResponse, p.decodeUpdateConsumerOffsetResponse, { offset: 42, errorCode: { code: 0 } }, 23);
  const del: p.DeleteConsumerOffsetRequest = { replicaId: { topic: 'demo', partition: 1 }, consumerId: 'c1' };
  assert.deepEqual(roundTrip(p.encodeDeleteConsumerOffsetRequest, p.decodeDeleteConsumerOffsetRequest, del, 23), hex('000464656d6f 00000001 00026331'));
  roundTrip(p.encodeDeleteConsumerOffsetResponse, p.decodeDeleteConsumerOffsetResponse, { errorCode: { code: p.ErrorCode.OffsetManagementDisabled } }, 23);
  assert.deepEqual(encode(p.encodeFetchConsumerOffsetsRequest, {}, 23), Buffer.alloc(0));
  roundTrip(p.encodeFetchConsumerOffsetsRequest, p.decodeFetchConsumerOffsetsRequest, {}, 23);
  roundTrip(
    p.encodeFetchConsumerOffsetsResponse,
    p.decodeFetchConsumerOffsetsResponse,
    {
      errorCode: { code: 0 },
      consumers: [{ consumerId: 'c1', replicaId: { topic: 'demo', partition: 0 }, offset: 17, modifiedTime: 1795663359308 }],
    },
    23,
  );
});

test('fetch offsets: consumer_id only from v23', () => {
  const req: p.FetchOffsetsRequest = { topics: [{ name: 'a', partitions: [{ partitionIndex: 1 }] }], consumerId: 'me' };
  roundTrip(p.encodeFetchOffsetsRequest, p.decodeFetchOffsetsRequest, req, 23);
  assert.deepEqual(decode(p.decodeFetchOffsetsRequest, encode(p.encodeFetchOffsetsRequest, req, 22), 22), { topics: req.topics });
});

test('error codes: every variant round-trips with its payload', () => {
  const withPayload: p.FluvioError[] = [
    { code: p.ErrorCode.Other, message: 'boom' },
    { code: p.ErrorCode.RequestTimedOut, timeoutMs: 1500, requestKind: p.RequestKind.Produce },
    { code: p.ErrorCode.OffsetEvicted, offset: 3, nextAvailable: 10 },
    { code: p.ErrorCode.OffsetFlushRequestError, message: 'flush' },
    { code: p.ErrorCode.SmartModuleNotFound, name: 'sm' },
    { code: p.ErrorCode.SmartModuleInvalid, error: 'bad wasm' },
    { code: p.ErrorCode.SmartModuleInvalid, error: 'bad wasm', name: 'sm' },
    { code: p.ErrorCode.SmartModuleInvalidExports, error: 'missing', kind: 'filter' },
    {
      code: p.ErrorCode.SmartModuleRuntimeError,
      hint: 'oops',
      offset: 12,
      smartModuleKind: p.SmartModuleErrorKind.Map,
      recordKey: Buffer.from('k'),
      recordValue: Buffer.from('v'),
    },
    {
      code: p.ErrorCode.SmartModuleRuntimeError,
      hint: '',
      offset: 0,
      smartModuleKind: p.SmartModuleErrorKind.Generic,
      recordKey: null,
      recordValue: Buffer.alloc(0),
    },
    { code: p.ErrorCode.SmartModuleChainInitError, message: 'chain' },
    { code: p.ErrorCode.SmartModuleInitError, hint: 'init' },
    { code: p.ErrorCode.SmartModuleLookBackError, message: 'lookback' },
    { code: p.ErrorCode.SmartModuleMemoryLimitExceeded, requested: 100, max: 50 },
    { code: p.ErrorCode.DerivedStreamNotFound, message: 'ds' },
    { code: p.ErrorCode.DerivedStreamInvalid, message: 'ds' },
    { code: p.ErrorCode.DeduplicationSmartModuleNameInvalid, message: 'dedup' },
    { code: p.ErrorCode.SystemSpecDeletionAttempt, kind: 'topic', name: 'sys' },
    { code: p.ErrorCode.SystemSpecUpdatingAttempt, kind: 'topic', name: 'sys' },
  ];
  const withPayloadCodes = new Set(withPayload.map((err) => err.code));
  const plain = Object.values(p.ErrorCode)
    .filter((code) => !withPayloadCodes.has(code))
    .map((code): p.FluvioError => ({ code }));
  for (const err of [...withPayload, ...plain]) {
    roundTrip((w, value: p.FluvioError) => p.encodeErrorCode(w, value), (r) => p.decodeErrorCode(r), err, 0);
  }
  assert.deepEqual(encode((w, v: p.FluvioError) => p.encodeErrorCode(w, v), { code: p.ErrorCode.Other, message: 'x' }, 0), hex('0002 0001 78'));
  assert.deepEqual(
    encode((w, v: p.FluvioError) => p.encodeErrorCode(w, v), { code: p.ErrorCode.SmartModuleRuntimeError, hint: 'h', offset: 1, smartModuleKind: 1, recordKey: Buffer.from('k'), recordValue: Buffer.from('vv') }, 0),
    hex('1774 0001 68 0000000000000001 01 01 02 6b 04 7676'),
  );
  assert.throws(() => decode((r) => p.decodeErrorCode(r), hex('0003'), 0), /unknown error code 3/);
  assert.throws(() => p.encodeErrorCode(new p.Writer(), { code: 3 }), RangeError);
  assert.throws(() => decode((r) => p.decodeErrorCode(r), hex('0007 0000000000000001 01'), 0), /unknown request kind 1/);
});

test('error codes: client texts', () => {
  assert.equal(p.errorText(p.ErrorCode.None), '');
  assert.equal(p.errorText(p.ErrorCode.TopicAlreadyExists), 'Topic already exists');
  assert.equal(p.errorText(p.ErrorCode.TopicNotFound), 'Topic not found');
  assert.equal(p.errorText(p.ErrorCode.TopicInvalidName), 'Topic invalid name');
  assert.equal(p.errorText(p.ErrorCode.NotLeaderForPartition), 'Not leader for partition');
  assert.equal(p.errorText(p.ErrorCode.SmartModuleNotFound), 'Smart module not found');
  assert.equal(p.describeError({ code: p.ErrorCode.Other, message: 'details' }), 'Other: details');
  for (const code of Object.values(p.ErrorCode)) assert.ok(code === 0 || p.errorText(code).length > 0);
});

const topicStatus: p.TopicStatus = {
  resolution: p.TopicResolution.Provisioned,
  replicaMap: new Map([
    [1, [5002]],
    [0, [5001, 5002]],
  ]),
  mirrorMap: new Map([[0, { type: 'Home', remoteCluster: 'edge', remoteReplica: 'demo-0' }]]),
  reason: '',
};

test('topic spec: every option round-trips at v16; older versions drop fields', () => {
  const full: p.TopicSpec = {
    replicas: {
      type: 'Assigned',
      maps: [
        { id: 0, replicas: [5001, 5002] },
        {
          id: 1,
          replicas: [5002],
          mirror: { type: 'Remote', homeCluster: 'home', homeSpuKey: 'spu', homeSpuId: 1, homeSpuEndpoint: 'h:9010' },
        },
      ],
    },
    cleanupPolicy: { type: 'Segment', timeInSeconds: 3600 },
    storage: { segmentSize: 1 << 20, maxPartitionSize: 2 ** 40 },
    compressionType: p.CompressionAlgorithm.Zstd,
    deduplication: {
      bounds: { count: 100, age: { seconds: 5, nanos: 1 } },
      filter: { transform: { uses: 'fluvio/dedup@0.1.0', with: new Map([['x', 'y']]) } },
    },
    system: true,
  };
  roundTrip(p.encodeTopicSpec, p.decodeTopicSpec, full, 16);
  for (const mirror of [
    { type: 'Remote', homeCluster: 'home', homeSpus: [{ id: 1, key: 'k', endpoint: 'e' }] },
    { type: 'Home', partitions: [{ remoteCluster: 'edge', remoteReplica: 'r-0' }] },
  ] satisfies p.MirrorConfig[]) {
    const spec: p.TopicSpec = { replicas: { type: 'Mirror', mirror }, compressionType: p.CompressionAlgorithm.Any, system: false };
    roundTrip(p.encodeTopicSpec, p.decodeTopicSpec, spec, 16);
    assert.equal(p.topicPartitionCount(spec), 1);
  }
  const old = decode(p.decodeTopicSpec, encode(p.encodeTopicSpec, full, 2), 2);
  assert.deepEqual(old, {
    replicas: { type: 'Assigned', maps: [{ id: 0, replicas: [5001, 5002] }, { id: 1, replicas: [5002] }] },
    compressionType: p.CompressionAlgorithm.Any,
    system: false,
  });
  const status = roundTrip(p.encodeTopicStatus, p.decodeTopicStatus, topicStatus, 16);
  // replica_map keys are written in ascending order
  assert.deepEqual(status.subarray(1, 7), hex('0002 00000000'));
  assert.throws(() => decode(p.decodeTopicSpec, hex('03'), 16), /unknown ReplicaSpec tag 3/);
  assert.throws(() => decode(p.decodeTopicSpec, hex('01 00000001 00000001 00 00 00 09 00 00'), 16), /unknown compression algorithm 9/);
});

test('partition and SPU objects round-trip', () => {
  const spec: p.PartitionSpec = {
    leader: 5001,
    replicas: [5001],
    cleanupPolicy: { type: 'Segment', timeInSeconds: 60 },
    storage: {},
    compressionType: p.CompressionAlgorithm.Gzip,
    system: false,
    mirror: { type: 'Home', remoteCluster: 'r', remoteReplica: 'x-0' },
  };
  roundTrip(p.encodePartitionSpec, p.decodePartitionSpec, spec, 16);
  const status: p.PartitionStatus = {
    resolution: p.PartitionResolution.Online,
    leader: { spu: 5001, hw: 10, leo: 12 },
    lsr: 1,
    replicas: [{ spu: 5002, hw: 9, leo: 9 }],
    size: 4096,
    isBeingDeleted: false,
    baseOffset: 3,
  };
  roundTrip(p.encodePartitionStatus, p.decodePartitionStatus, status, 16);
  assert.deepEqual(decode(p.decodePartitionStatus, encode(p.encodePartitionStatus, status, 4), 4), { ...status, size: -1, baseOffset: 0 });
  const spu: p.SpuSpec = {
    id: 1,
    spuType: p.SpuType.Managed,
    publicEndpoint: { port: 9005, ingress: [{ hostname: 'localhost', ip: '::1' }, {}], encryption: p.Encryption.SSL },
    privateEndpoint: { port: 9006, host: 'spu-1', encryption: p.Encryption.PLAINTEXT },
    rack: 'r1',
    publicEndpointLocal: { port: 9007, host: '127.0.0.1', encryption: p.Encryption.PLAINTEXT },
  };
  roundTrip(p.encodeSpuSpec, p.decodeSpuSpec, spu, 16);
  const { publicEndpointLocal: _dropped, ...v0 } = spu;
  assert.deepEqual(decode(p.decodeSpuSpec, encode(p.encodeSpuSpec, spu, 0), 0), v0);
});

test('create: SmartModule and CustomSpu specs; unmodelled kinds pass through', () => {
  const smartModule: p.CreateRequest = {
    kind: 'SmartModule',
    name: 'my-filter',
    dryRun: false,
    timeout: 5000,
    spec: {
      meta: {
        package: {
          name: 'my-filter',
          group: 'acme',
          version: '0.1.0',
          apiVersion: '0.1.0-alpha.1+build',
          description: 'filters',
          visibility: p.SmartModuleVisibility.Private,
          repository: 'https://example.invalid/repo',
        },
        params: new Map([['threshold', { description: 'min', optional: true }], ['mode', { optional: false }]]),
      },
      wasm: { format: p.SmartModuleWasmFormat.Binary, payload: Buffer.from('1f8b0800', 'hex') },
    },
  };
  roundTrip(p.encodeCreateRequest, p.decodeCreateRequest, smartModule, 16);
  const summary: p.CreateRequest = {
    kind: 'SmartModule',
    name: 'sm',
    dryRun: true,
    spec: { summary: { wasmLength: 10 }, wasm: { format: p.SmartModuleWasmFormat.Text, payload: Buffer.alloc(0) } },
  };
  roundTrip(p.encodeCreateRequest, p.decodeCreateRequest, summary, 16);
  const badSemver = Buffer.from(encode(p.encodeCreateRequest, smartModule, 16).toString('latin1').replace('0.1.0-alpha', '0.1.x-alpha'), 'latin1');
  assert.throws(() => decode(p.decodeCreateRequest, badSemver, 16), /is not a semver version/);

  const customSpu: p.CreateRequest = {
    kind: 'CustomSpu',
    name: 'custom-spu-5001',
    dryRun: false,
    spec: {
      id: 5001,
      publicEndpoint: { port: 9005, ingress: [{ ip: '127.0.0.1' }], encryption: 0 },
      privateEndpoint: { port: 9006, host: '127.0.0.1', encryption: 0 },
    },
  };
  roundTrip(p.encodeCreateRequest, p.decodeCreateRequest, customSpu, 16);

  const spuGroup: p.CreateRequest = { kind: 'Unsupported', label: 'SpuGroup', name: 'main', dryRun: false, spec: hex('0003 00001388 00 00 00 00000000') };
  roundTrip(p.encodeCreateRequest, p.decodeCreateRequest, spuGroup, 16);
  assert.throws(() => decode(p.decodeCreateRequest, encode(p.encodeCreateRequest, spuGroup, 16), 10), /classic layout/);
  const trailing = Buffer.concat([encode(p.encodeCreateRequest, customSpu, 16), hex('00')]);
  trailing.writeUInt32BE(trailing.readUInt32BE(11) + 1, 11);
  assert.throws(() => decode(p.decodeCreateRequest, trailing, 16), /Create CustomSpu payload: 1 unexpected trailing byte/);
});

test('delete: string keys, CustomSpuKey for CustomSpu, force from v13', () => {
  roundTrip(p.encodeDeleteRequest, p.decodeDeleteRequest, { kind: 'SmartModule', key: 'sm', force: true }, 16);
  const byId = roundTrip(p.encodeDeleteRequest, p.decodeDeleteRequest, { kind: 'CustomSpu', key: { type: 'Id', id: 7 }, force: false }, 16);
  assert.deepEqual(byId, hex('0009 437573746f6d537075 00000009 0002 4964 00000007 00'));
  roundTrip(p.encodeDeleteRequest, p.decodeDeleteRequest, { kind: 'CustomSpu', key: { type: 'Name', name: 'x' }, force: false }, 16);
  assert.deepEqual(decode(p.decodeDeleteRequest, encode(p.encodeDeleteRequest, { kind: 'Topic', key: 'demo', force: true }, 12), 12), {
    kind: 'Topic',
    key: 'demo',
    force: false,
  });
  assert.throws(() => encode(p.encodeDeleteRequest, { kind: 'Topic', key: { type: 'Id', id: 1 }, force: false }, 16), TypeError);
});

test('list and watch responses for every modelled kind', () => {
  const smartModules: p.ListResponse = {
    kind: 'SmartModule',
    items: [{ name: 'sm', spec: { wasm: { format: 0, payload: Buffer.from([1, 2, 3]) } }, status: {} }],
  };
  roundTrip(p.encodeListResponse, p.decodeListResponse, smartModules, 16);
  const customSpus: p.ListResponse = {
    kind: 'CustomSpu',
    items: [
      {
        name: 'c',
        spec: { id: 1, publicEndpoint: { port: 1, ingress: [], encryption: 0 }, privateEndpoint: { port: 2, host: 'h', encryption: 0 } },
        status: { resolution: p.SpuStatusResolution.Init },
      },
    ],
  };
  roundTrip(p.encodeListResponse, p.decodeListResponse, customSpus, 16);
  const unsupported: p.ListResponse = { kind: 'Unsupported', label: 'TableFormat', payload: hex('00000000') };
  roundTrip(p.encodeListResponse, p.decodeListResponse, unsupported, 16);

  const watch: p.WatchResponse = {
    kind: 'Topic',
    update: {
      epoch: 7,
      changes: [
        {
          kind: 'delete',
          content: {
            name: 'gone',
            spec: { replicas: { type: 'Computed', partitions: 2, replicationFactor: 1, ignoreRackAssignment: true }, compressionType: 4, system: false },
            status: topicStatus,
          },
        },
      ],
      all: [],
    },
  };
  roundTrip(p.encodeWatchResponse, p.decodeWatchResponse, watch, 16);
  roundTrip(p.encodeWatchRequest, p.decodeWatchRequest, { kind: 'SmartModule', epoch: 0, summary: true }, 16);
  roundTrip(p.encodeListRequest, p.decodeListRequest, { kind: 'Topic', nameFilters: ['a', 'b'], summary: true, system: true }, 16);
  assert.throws(
    () => decode(p.decodeWatchResponse, hex('0005 546f706963 00000010 0000000000000001 00000001 05'), 16),
    /truncated|unknown message type/,
  );
});

test('api versions: negotiation as the client does it', () => {
  assert.equal(p.negotiateVersion(p.SC_API_VERSIONS, p.ScApiKey.Create, 9, 16), 16);
  assert.equal(p.negotiateVersion(p.SPU_API_VERSIONS, p.SpuApiKey.UpdateOffsets, 0, 0), 0);
  assert.equal(p.negotiateVersion(p.SPU_API_VERSIONS, p.SpuApiKey.FetchOffsets, 22, 23), 23);
  assert.equal(p.negotiateVersion(p.SPU_API_VERSIONS, p.SpuApiKey.UpdateConsumerOffset, 22, 23), 23);
  assert.equal(p.negotiateVersion(p.SC_API_VERSIONS, 9999, 0, 1), undefined);
  assert.equal(p.negotiateVersion([{ apiKey: 1, minVersion: 20, maxVersion: 23 }], 1, 0, 10), undefined);
  roundTrip(p.encodeApiVersionsRequest, p.decodeApiVersionsRequest, { clientVersion: '', clientOs: '', clientArch: '' }, 0);
  assert.equal(encode(p.encodeApiVersionsRequest, { clientVersion: 'a', clientOs: 'b', clientArch: 'c' }, 0).length, 0);
  const response: p.ApiVersionsResponse = { errorCode: p.NO_ERROR, apiKeys: [...p.SC_API_VERSIONS], platformVersion: '0.11.11' };
  roundTrip(p.encodeApiVersionsResponse, p.decodeApiVersionsResponse, response, 2);
  assert.throws(() => encode(p.encodeApiVersionsResponse, { ...response, platformVersion: 'v1' }, 2), RangeError);
  assert.throws(() => decode(p.decodeApiVersionsResponse, hex('0000 00000000 0003 312e30'), 2), /platform_version "1.0" is not semver/);
});
