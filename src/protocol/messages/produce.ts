// Produce (key 0), used at v23 by the client.
//
// Request (hand-written codec in Fluvio: transactional_id is always present):
//   transactional_id  Option<String>
//   isolation         i16   acks: 1 = ReadUncommitted, -1 = ReadCommitted (any value < 0 is ReadCommitted)
//   timeout           i32   ms, must not be negative
//   topics            Vec<TopicProduceData>
//     name            String
//     partitions      Vec<PartitionProduceData>
//       partition_index  u32
//       records          RecordSet (i32 length + batches)
//   smartmodules      Vec<SmartModuleInvocation>   v >= 8
//
// Response:
//   responses            Vec<TopicProduceResponse>
//     name               String
//     partitions         Vec<PartitionProduceResponse>
//       partition_index     u32
//       error_code          ErrorCode
//       base_offset         i64
//       log_append_time_ms  i64   v >= 2
//       log_start_offset    i64   v >= 5
//   throttle_time_ms     i32   v >= 1
//
// The client may send several batches for one partition as separate
// PartitionProduceData entries and pairs the response entries with them by
// position, so the response must keep one entry per request entry, in order.

import { DecodeError, type Reader, type Writer } from '../codec.js';
import { decodeErrorCode, encodeErrorCode, type FluvioError } from '../error-code.js';
import { Isolation, type IsolationLevel } from './isolation.js';
import { decodeRecordSet, encodeRecordSet } from './record-set.js';
import {
  decodeSmartModuleInvocation,
  encodeSmartModuleInvocation,
  type SmartModuleInvocation,
} from './smartmodule-invocation.js';

export const PRODUCER_TRANSFORMATION_VERSION = 8;

export interface PartitionProduceData {
  partitionIndex: number;
  /** The RecordSet's batches without the i32 length prefix; a subarray of the request frame. */
  records: Buffer;
}

export interface TopicProduceData {
  name: string;
  partitions: PartitionProduceData[];
}

export interface ProduceRequest {
  transactionalId?: string;
  isolation: IsolationLevel;
  timeoutMs: number;
  topics: TopicProduceData[];
  smartmodules: SmartModuleInvocation[];
}

export interface PartitionProduceResponse {
  partitionIndex: number;
  errorCode: FluvioError;
  baseOffset: number;
  logAppendTimeMs: number;
  logStartOffset: number;
}

export interface TopicProduceResponse {
  name: string;
  partitions: PartitionProduceResponse[];
}

export interface ProduceResponse {
  responses: TopicProduceResponse[];
  throttleTimeMs: number;
}

const ACKS_READ_UNCOMMITTED = 1;
const ACKS_READ_COMMITTED = -1;

export function encodeProduceRequest(w: Writer, req: ProduceRequest, version: number): void {
  w.optional(req.transactionalId, (id) => w.string(id));
  w.i16(req.isolation === Isolation.ReadCommitted ? ACKS_READ_COMMITTED : ACKS_READ_UNCOMMITTED);
  w.i32(req.timeoutMs);
  w.array(req.topics, (topic) => {
    w.string(topic.name);
    w.array(topic.partitions, (partition) => {
      w.u32(partition.partitionIndex);
      encodeRecordSet(w, partition.records);
    });
  });
  if (version >= PRODUCER_TRANSFORMATION_VERSION) {
    w.array(req.smartmodules, (invocation) => encodeSmartModuleInvocation(w, invocation, version));
  }
}

export function decodeProduceRequest(r: Reader, version: number): ProduceRequest {
  const transactionalId = r.optional(() => r.string('transactional_id'), 'transactional_id');
  const acks = r.i16('isolation');
  const timeoutMs = r.i32('timeout');
  if (timeoutMs < 0) throw new DecodeError(`timeout ${timeoutMs} ms is negative`);
  const topics = r.array(
    (): TopicProduceData => {
      const name = r.string('topics.name');
      const partitions = r.array(
        (): PartitionProduceData => {
          const partitionIndex = r.u32('topics.partitions.partition_index');
          return { partitionIndex, records: decodeRecordSet(r, 'topics.partitions.records') };
        },
        'topics.partitions',
        8,
      );
      return { name, partitions };
    },
    'topics',
    6,
  );
  const smartmodules =
    version >= PRODUCER_TRANSFORMATION_VERSION
      ? r.array(() => decodeSmartModuleInvocation(r, version, 'smartmodules'), 'smartmodules', 4)
      : [];
  const isolation = acks < 0 ? Isolation.ReadCommitted : Isolation.ReadUncommitted;
  const req: ProduceRequest = { isolation, timeoutMs, topics, smartmodules };
  if (transactionalId !== undefined) req.transactionalId = transactionalId;
  return req;
}

export function encodeProduceResponse(w: Writer, res: ProduceResponse, version: number): void {
  w.array(res.responses, (topic) => {
    w.string(topic.name);
    w.array(topic.partitions, (partition) => {
      w.u32(partition.partitionIndex);
      encodeErrorCode(w, partition.errorCode);
      w.i64(partition.baseOffset);
      if (version >= 2) w.i64(partition.logAppendTimeMs);
      if (version >= 5) w.i64(partition.logStartOffset);
    });
  });
  if (version >= 1) w.i32(res.throttleTimeMs);
}

export function decodeProduceResponse(r: Reader, version: number): ProduceResponse {
  const responses = r.array(
    (): TopicProduceResponse => {
      const name = r.string('responses.name');
      const partitions = r.array(
        (): PartitionProduceResponse => {
          const partitionIndex = r.u32('responses.partitions.partition_index');
          const errorCode = decodeErrorCode(r, 'responses.partitions.error_code');
          const baseOffset = r.i64('responses.partitions.base_offset');
          const logAppendTimeMs = version >= 2 ? r.i64('responses.partitions.log_append_time_ms') : 0;
          const logStartOffset = version >= 5 ? r.i64('responses.partitions.log_start_offset') : 0;
          return { partitionIndex, errorCode, baseOffset, logAppendTimeMs, logStartOffset };
        },
        'responses.partitions',
        14,
      );
      return { name, partitions };
    },
    'responses',
    6,
  );
  const throttleTimeMs = version >= 1 ? r.i32('throttle_time_ms') : 0;
  return { responses, throttleTimeMs };
}
