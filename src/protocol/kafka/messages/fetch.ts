// Fetch (key 1), served v4-13; flexible from v12.
//
//   Request
//     replica_id        i32     -1 for consumers
//     max_wait_ms       i32     long-poll bound when fewer than min_bytes are ready
//     min_bytes         i32
//     max_bytes         i32     v3+
//     isolation_level   i8      v4+
//     session_id        i32     v7+  (fetch sessions are declined: we answer session_id 0)
//     session_epoch     i32     v7+
//     topics            [topic string v4-12, topic_id uuid v13+,
//                        partitions [partition i32, current_leader_epoch i32 v9+, fetch_offset i64,
//                                    last_fetched_epoch i32 v12+, log_start_offset i64 v5+,
//                                    partition_max_bytes i32]]
//     forgotten_topics_data  [topic string v7-12, topic_id uuid v13+, partitions [i32]]  v7+
//     rack_id           string  v11+
//   Response
//     throttle_time_ms  i32  v1+
//     error_code        i16  v7+
//     session_id        i32  v7+
//     responses         [topic string v4-12, topic_id uuid v13+,
//                        partitions [partition_index i32, error_code i16, high_watermark i64,
//                                    last_stable_offset i64 v4+, log_start_offset i64 v5+,
//                                    aborted_transactions [producer_id i64, first_offset i64]? v4+,
//                                    preferred_read_replica i32 v11+, records RECORDS?]]

import { arrayOf, field, message, type StructOf } from '../schema.js';

export const FetchRequest = message('FetchRequest', 12, [
  field('replicaId', 'int32', { default: -1 }),
  field('maxWaitMs', 'int32'),
  field('minBytes', 'int32'),
  field('maxBytes', 'int32', { since: 3, default: 0x7fffffff }),
  field('isolationLevel', 'int8', { since: 4 }),
  field('sessionId', 'int32', { since: 7 }),
  field('sessionEpoch', 'int32', { since: 7, default: -1 }),
  field('topics', [
    field('topic', 'string', { until: 12 }),
    field('topicId', 'uuid', { since: 13 }),
    field('partitions', [
      field('partition', 'int32'),
      field('currentLeaderEpoch', 'int32', { since: 9, default: -1 }),
      field('fetchOffset', 'int64'),
      field('lastFetchedEpoch', 'int32', { since: 12, default: -1 }),
      field('logStartOffset', 'int64', { since: 5, default: -1 }),
      field('partitionMaxBytes', 'int32'),
    ]),
  ]),
  field('forgottenTopicsData', [field('topic', 'string', { until: 12 }), field('topicId', 'uuid', { since: 13 }), field('partitions', arrayOf('int32'))], { since: 7 }),
  field('rackId', 'string', { since: 11 }),
]);

export const FetchResponse = message('FetchResponse', 12, [
  field('throttleTimeMs', 'int32', { since: 1 }),
  field('errorCode', 'int16', { since: 7 }),
  field('sessionId', 'int32', { since: 7 }),
  field('responses', [
    field('topic', 'string', { until: 12 }),
    field('topicId', 'uuid', { since: 13 }),
    field('partitions', [
      field('partitionIndex', 'int32'),
      field('errorCode', 'int16'),
      field('highWatermark', 'int64'),
      field('lastStableOffset', 'int64', { since: 4, default: -1 }),
      field('logStartOffset', 'int64', { since: 5, default: -1 }),
      field('abortedTransactions', [field('producerId', 'int64'), field('firstOffset', 'int64')], { since: 4, nullableSince: 4 }),
      field('preferredReadReplica', 'int32', { since: 11, default: -1 }),
      field('records', 'records', { nullableSince: 0 }),
    ]),
  ]),
]);

export type FetchRequestData = StructOf<typeof FetchRequest.fields>;
