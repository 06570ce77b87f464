// Consumer offset management (SPU keys 1006..1008, v22..23; needs the
// StreamFetch v23 consumer_id). Layouts from fluvio-spu-schema
// server/consumer_offset.rs at v0.11.11; not used by the Node client.
//
// UpdateConsumerOffset (1006)
//   Request:   offset i64, session_id u32         (session_id = the stream's stream_id)
//   Response:  offset i64, error_code ErrorCode
//
// DeleteConsumerOffset (1007)
//   Request:   replica_id ReplicaKey{topic String, partition u32}, consumer_id String
//   Response:  error_code ErrorCode
//
// FetchConsumerOffsets (1008)
//   Request:   (empty)
//   Response:  error_code ErrorCode,
//              consumers Vec<{consumer_id String, replica_id ReplicaKey,
//                             offset i64, modified_time u64}>

import type { Reader, Writer } from '../codec.js';
import { decodeErrorCode, encodeErrorCode, type FluvioError } from '../error-code.js';

export interface ReplicaKey {
  topic: string;
  partition: number;
}

export interface UpdateConsumerOffsetRequest {
  offset: number;
  sessionId: number;
}

export interface UpdateConsumerOffsetResponse {
  offset: number;
  errorCode: FluvioError;
}

export interface DeleteConsumerOffsetRequest {
  replicaId: ReplicaKey;
  consumerId: string;
}

export interface DeleteConsumerOffsetResponse {
  errorCode: FluvioError;
}

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface FetchConsumerOffsetsRequest {}

export interface ConsumerOffset {
  consumerId: string;
  replicaId: ReplicaKey;
  offset: number;
  /** ms since the epoch. */
  modifiedTime: number;
}

export interface FetchConsumerOffsetsResponse {
  errorCode: FluvioError;
  consumers: ConsumerOffset[];
}

export function encodeReplicaKey(w: Writer, key: ReplicaKey): void {
  w.string(key.topic);
  w.u32(key.partition);
}

export function decodeReplicaKey(r: Reader, field = 'replica_id'): ReplicaKey {
  const topic = r.string(`${field}.topic`);
  return { topic, partition: r.u32(`${field}.partition`) };
}

export function encodeUpdateConsumerOffsetRequest(w: Writer, req: UpdateConsumerOffsetRequest, _version: number): void {
  w.i64(req.offset);
  w.u32(req.sessionId);
}

export function decodeUpdateConsumerOffsetRequest(r: Reader, _version: number): UpdateConsumerOffsetRequest {
  const offset = r.i64('offset');
  return { offset, sessionId: r.u32('session_id') };
}

export function encodeUpdateConsumerOffsetResponse(w: Writer, res: UpdateConsumerOffsetResponse, _version: number): void {
  w.i64(res.offset);
  encodeErrorCode(w, res.errorCode);
}

export function decodeUpdateConsumerOffsetResponse(r: Reader, _version: number): UpdateConsumerOffsetResponse {
  const offset = r.i64('offset');
  return { offset, errorCode: decodeErrorCode(r) };
}

export function encodeDeleteConsumerOffsetRequest(w: Writer, req: DeleteConsumerOffsetRequest, _version: number): void {
  encodeReplicaKey(w, req.replicaId);
  w.string(req.consumerId);
}

export function decodeDeleteConsumerOffsetRequest(r: Reader, _version: number): DeleteConsumerOffsetRequest {
  const replicaId = decodeReplicaKey(r);
  return { replicaId, consumerId: r.string('consumer_id') };
}

export function encodeDeleteConsumerOffsetResponse(w: Writer, res: DeleteConsumerOffsetResponse, _version: number): void {
  encodeErrorCode(w, res.errorCode);
}

export function decodeDeleteConsumerOffsetResponse(r: Reader, _version: number): DeleteConsumerOffsetResponse {
  return { errorCode: decodeErrorCode(r) };
}

export function encodeFetchConsumerOffsetsRequest(_w: Writer, _req: FetchConsumerOffsetsRequest, _version: number): void {}

export function decodeFetchConsumerOffsetsRequest(_r: Reader, _version: number): FetchConsumerOffsetsRequest {
  return {};
}

export function encodeFetchConsumerOffsetsResponse(w: Writer, res: FetchConsumerOffsetsResponse, _version: number): void {
  encodeErrorCode(w, res.errorCode);
  w.array(res.consumers, (consumer) => {
    w.string(consumer.consumerId);
    encodeReplicaKey(w, consumer.replicaId);
    w.i64(consumer.offset);
    w.u64(consumer.modifiedTime);
  });
}

export function decodeFetchConsumerOffsetsResponse(r: Reader, _version: number): FetchConsumerOffsetsResponse {
  const errorCode = decodeErrorCode(r);
  const consumers = r.array(
    (): ConsumerOffset => {
      const consumerId = r.string('consumers.consumer_id');
      const replicaId = decodeReplicaKey(r, 'consumers.replica_id');
      const offset = r.i64('consumers.offset');
      return { consumerId, replicaId, offset, modifiedTime: r.u64('consumers.modified_time') };
    },
    'consumers',
    24,
  );
  return { errorCode, consumers };
}
