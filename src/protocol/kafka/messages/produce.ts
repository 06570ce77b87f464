// Produce (key 0), served v3-9; flexible from v9.
//
//   Request
//     transactional_id  string?  v3+   (transactions are not supported: must be null)
//     acks              i16      0, 1 or -1
//     timeout_ms        i32
//     topic_data        [name string, partition_data [index i32, records RECORDS?]]
//   Response
//     responses         [name string,
//                        partition_responses [index i32, error_code i16, base_offset i64,
//                                             log_append_time_ms i64 v2+, log_start_offset i64 v5+,
//                                             record_errors [batch_index i32, message string?] v8+,
//                                             error_message string? v8+]]
//     throttle_time_ms  i32  v1+
//
// RECORDS are magic-2 record batches, concatenated, as NULLABLE_BYTES (compact in v9).
// acks = 0 gets no response at all.

import { field, message, type StructOf } from '../schema.js';

export const ProduceRequest = message('ProduceRequest', 9, [
  field('transactionalId', 'string', { since: 3, nullableSince: 3 }),
  field('acks', 'int16'),
  field('timeoutMs', 'int32'),
  field('topicData', [
    field('name', 'string'),
    field('partitionData', [field('index', 'int32'), field('records', 'records', { nullableSince: 0 })]),
  ]),
]);

export const ProduceResponse = message('ProduceResponse', 9, [
  field('responses', [
    field('name', 'string'),
    field('partitionResponses', [
      field('index', 'int32'),
      field('errorCode', 'int16'),
      field('baseOffset', 'int64'),
      field('logAppendTimeMs', 'int64', { since: 2, default: -1 }),
      field('logStartOffset', 'int64', { since: 5, default: -1 }),
      field('recordErrors', [field('batchIndex', 'int32'), field('batchIndexErrorMessage', 'string', { nullableSince: 8 })], { since: 8 }),
      field('errorMessage', 'string', { since: 8, nullableSince: 8 }),
    ]),
  ]),
  field('throttleTimeMs', 'int32', { since: 1 }),
]);

export type ProduceRequestData = StructOf<typeof ProduceRequest.fields>;
