// StreamFetch (SPU key 1003), used at v23: one request, then any number of
// response frames carrying the request's correlation id.
//
// Request:
//   topic          String
//   partition      u32
//   fetch_offset   i64
//   max_bytes      i32
//   isolation      u8     0 ReadUncommitted, 1 ReadCommitted (an i16 in Produce!)
//   wasm_module    Vec<u8>                                    11 <= v <= 18
//   smartmodule    Option<SmartModuleInvocation>              16 <= v <= 18
//   derivedstream  Option<{stream String, params SmartModuleExtraParams}>  16 <= v <= 18
//   smartmodules   Vec<SmartModuleInvocation>                 v >= 18
//   consumer_id    Option<String>                             v >= 23
//
// Response frame:
//   topic       String
//   stream_id   u32    the session id the client echoes in UpdateOffsets
//   partition   FetchablePartitionResponse
//     partition_index     u32
//     error_code          ErrorCode
//     high_watermark      i64
//     next_filter_offset  i64    v >= 11
//     log_start_offset    i64
//     aborted             Option<Vec<{producer_id i64, first_offset i64}>>
//     records             RecordSet (i32 length + batches)

import { DecodeError, type Reader, type Writer } from '../codec.js';
import { decodeErrorCode, encodeErrorCode, type FluvioError } from '../error-code.js';
import { Isolation, type IsolationLevel } from './isolation.js';
import { decodeRecordSet, encodeRecordSet } from './record-set.js';
import {
  decodeSmartModuleExtraParams,
  decodeSmartModuleInvocation,
  encodeSmartModuleExtraParams,
  encodeSmartModuleInvocation,
  type SmartModuleExtraParams,
  type SmartModuleInvocation,
} from './smartmodule-invocation.js';

export const StreamFetchVersion = {
  WasmModule: 11,
  WasmModuleV2: 12,
  Aggregator: 13,
  GzipWasm: 14,
  ArrayMap: 15,
  SmartModule: 16,
  GenericSmartModule: 17,
  ChainSmartModule: 18,
  Lookback: 20,
  LookbackAge: 21,
  Timestamp: 22,
  OffsetManagement: 23,
} as const;

/** Version the client falls back to when the SPU does not list StreamFetch. */
export const STREAM_FETCH_FALLBACK_VERSION = 17;

export interface DerivedStreamInvocation {
  stream: string;
  params: SmartModuleExtraParams;
}

export interface StreamFetchRequest {
  topic: string;
  partition: number;
  fetchOffset: number;
  maxBytes: number;
  isolation: IsolationLevel;
  /** Legacy raw module (11 <= v <= 18); always present there, possibly empty. */
  wasmModule?: Buffer;
  /** Legacy single SmartModule (16 <= v <= 18). */
  smartmodule?: SmartModuleInvocation;
  /** Legacy derived stream (16 <= v <= 18). */
  derivedstream?: DerivedStreamInvocation;
  /** The SmartModule chain (v >= 18). */
  smartmodules: SmartModuleInvocation[];
  consumerId?: string;
}

export interface AbortedTransaction {
  producerId: number;
  firstOffset: number;
}

export interface FetchablePartitionResponse {
  partitionIndex: number;
  errorCode: FluvioError;
  highWatermark: number;
  /** 0 unless a SmartModule consumed records it did not return. */
  nextFilterOffset: number;
  logStartOffset: number;
  aborted?: AbortedTransaction[];
  /** Concatenated batches (no length prefix); encoded by reference, decoded as a subarray. */
  records: Buffer | readonly Buffer[];
}

export interface StreamFetchResponse {
  topic: string;
  streamId: number;
  partition: FetchablePartitionResponse;
}

function inRange(version: number, min: number, max = Infinity): boolean {
  return version >= min && version <= max;
}

export function encodeStreamFetchRequest(w: Writer, req: StreamFetchRequest, version: number): void {
  w.string(req.topic);
  w.u32(req.partition);
  w.i64(req.fetchOffset);
  w.i32(req.maxBytes);
  w.u8(req.isolation);
  if (inRange(version, StreamFetchVersion.WasmModule, StreamFetchVersion.ChainSmartModule)) {
    w.bytes(req.wasmModule ?? Buffer.alloc(0));
  }
  if (inRange(version, StreamFetchVersion.SmartModule, StreamFetchVersion.ChainSmartModule)) {
    w.optional(req.smartmodule, (invocation) => encodeSmartModuleInvocation(w, invocation, version));
    w.optional(req.derivedstream, (derived) => {
      w.string(derived.stream);
      encodeSmartModuleExtraParams(w, derived.params, version);
    });
  }
  if (version >= StreamFetchVersion.ChainSmartModule) {
    w.array(req.smartmodules, (invocation) => encodeSmartModuleInvocation(w, invocation, version));
  }
  if (version >= StreamFetchVersion.OffsetManagement) w.optional(req.consumerId, (id) => w.string(id));
}

export function decodeStreamFetchRequest(r: Reader, version: number): StreamFetchRequest {
  const topic = r.string('topic');
  const partition = r.u32('partition');
  const fetchOffset = r.i64('fetch_offset');
  const maxBytes = r.i32('max_bytes');
  const isolationTag = r.u8('isolation');
  if (isolationTag !== Isolation.ReadUncommitted && isolationTag !== Isolation.ReadCommitted) {
    throw new DecodeError(`isolation: unknown variant tag ${isolationTag}`);
  }
  const req: StreamFetchRequest = {
    topic,
    partition,
    fetchOffset,
    maxBytes,
    isolation: isolationTag,
    smartmodules: [],
  };
  if (inRange(version, StreamFetchVersion.WasmModule, StreamFetchVersion.ChainSmartModule)) {
    req.wasmModule = r.bytes('wasm_module');
  }
  if (inRange(version, StreamFetchVersion.SmartModule, StreamFetchVersion.ChainSmartModule)) {
    const smartmodule = r.optional(() => decodeSmartModuleInvocation(r, version, 'smartmodule'), 'smartmodule');
    if (smartmodule !== undefined) req.smartmodule = smartmodule;
    const derivedstream = r.optional((): DerivedStreamInvocation => {
      const stream = r.string('derivedstream.stream');
      return { stream, params: decodeSmartModuleExtraParams(r, version, 'derivedstream.params') };
    }, 'derivedstream');
    if (derivedstream !== undefined) req.derivedstream = derivedstream;
  }
  if (version >= StreamFetchVersion.ChainSmartModule) {
    req.smartmodules = r.array(() => decodeSmartModuleInvocation(r, version, 'smartmodules'), 'smartmodules', 4);
  }
  if (version >= StreamFetchVersion.OffsetManagement) {
    const consumerId = r.optional(() => r.string('consumer_id'), 'consumer_id');
    if (consumerId !== undefined) req.consumerId = consumerId;
  }
  return req;
}

export function encodeFetchablePartitionResponse(w: Writer, partition: FetchablePartitionResponse, version: number): void {
  w.u32(partition.partitionIndex);
  encodeErrorCode(w, partition.errorCode);
  w.i64(partition.highWatermark);
  if (version >= StreamFetchVersion.WasmModule) w.i64(partition.nextFilterOffset);
  w.i64(partition.logStartOffset);
  w.optional(partition.aborted, (aborted) =>
    w.array(aborted, (transaction) => {
      w.i64(transaction.producerId);
      w.i64(transaction.firstOffset);
    }),
  );
  encodeRecordSet(w, partition.records);
}

export function decodeFetchablePartitionResponse(r: Reader, version: number, field = 'partition'): FetchablePartitionResponse {
  const partitionIndex = r.u32(`${field}.partition_index`);
  const errorCode = decodeErrorCode(r, `${field}.error_code`);
  const highWatermark = r.i64(`${field}.high_watermark`);
  const nextFilterOffset = version >= StreamFetchVersion.WasmModule ? r.i64(`${field}.next_filter_offset`) : 0;
  const logStartOffset = r.i64(`${field}.log_start_offset`);
  const aborted = r.optional(
    () =>
      r.array(
        (): AbortedTransaction => {
          const producerId = r.i64(`${field}.aborted.producer_id`);
          return { producerId, firstOffset: r.i64(`${field}.aborted.first_offset`) };
        },
        `${field}.aborted`,
        16,
      ),
    `${field}.aborted`,
  );
  const records = decodeRecordSet(r, `${field}.records`);
  const partition: FetchablePartitionResponse = {
    partitionIndex,
    errorCode,
    highWatermark,
    nextFilterOffset,
    logStartOffset,
    records,
  };
  if (aborted !== undefined) partition.aborted = aborted;
  return partition;
}

export function encodeStreamFetchResponse(w: Writer, res: StreamFetchResponse, version: number): void {
  w.string(res.topic);
  w.u32(res.streamId);
  encodeFetchablePartitionResponse(w, res.partition, version);
}

export function decodeStreamFetchResponse(r: Reader, version: number): StreamFetchResponse {
  const topic = r.string('topic');
  const streamId = r.u32('stream_id');
  return { topic, streamId, partition: decodeFetchablePartitionResponse(r, version) };
}
