// InitProducerId (key 22), served v0-5; flexible from v2.
//
//   Request
//     transactional_id        string?  null for an idempotent producer (transactions are not supported)
//     transaction_timeout_ms  i32
//     producer_id             i64  v3+  -1, or the id whose epoch the producer wants bumped
//     producer_epoch          i16  v3+
//   Response
//     throttle_time_ms  i32
//     error_code        i16
//     producer_id       i64
//     producer_epoch    i16

import { field, message, type StructOf } from '../schema.js';

export const InitProducerIdRequest = message('InitProducerIdRequest', 2, [
  field('transactionalId', 'string', { nullableSince: 0 }),
  field('transactionTimeoutMs', 'int32'),
  field('producerId', 'int64', { since: 3, default: -1 }),
  field('producerEpoch', 'int16', { since: 3, default: -1 }),
]);

export const InitProducerIdResponse = message('InitProducerIdResponse', 2, [
  field('throttleTimeMs', 'int32'),
  field('errorCode', 'int16'),
  field('producerId', 'int64', { default: -1 }),
  field('producerEpoch', 'int16'),
]);

export type InitProducerIdRequestData = StructOf<typeof InitProducerIdRequest.fields>;
