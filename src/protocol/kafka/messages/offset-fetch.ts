// OffsetFetch (key 9), served v1-8; flexible from v6.
//
//   Request
//     group_id        string   v1-7
//     topics          [name string, partition_indexes [i32]]  v1-7; null (v2+) = every committed partition
//     groups          [group_id string, topics [name string, partition_indexes [i32]]?]  v8+
//     require_stable  bool     v7+
//   Response
//     throttle_time_ms  i32  v3+
//     topics            [name string, partitions [partition_index i32, committed_offset i64,
//                        committed_leader_epoch i32 v5-7, metadata string?, error_code i16]]  v1-7
//     error_code        i16  v2-7
//     groups            [group_id string, topics (as above, with committed_leader_epoch), error_code i16]  v8+
//
// A partition without a committed offset answers committed_offset -1.

import { arrayOf, field, message, type StructOf } from '../schema.js';

const requestTopic = [field('name', 'string'), field('partitionIndexes', arrayOf('int32'))] as const;

export const OffsetFetchRequest = message('OffsetFetchRequest', 6, [
  field('groupId', 'string', { until: 7 }),
  field('topics', requestTopic, { until: 7, nullableSince: 2 }),
  field('groups', [field('groupId', 'string'), field('topics', requestTopic, { nullableSince: 8 })], { since: 8 }),
  field('requireStable', 'bool', { since: 7 }),
]);

const responsePartition = [
  field('partitionIndex', 'int32'),
  field('committedOffset', 'int64'),
  field('committedLeaderEpoch', 'int32', { since: 5, default: -1 }),
  field('metadata', 'string', { nullableSince: 0 }),
  field('errorCode', 'int16'),
] as const;

const responseTopic = [field('name', 'string'), field('partitions', responsePartition)] as const;

export const OffsetFetchResponse = message('OffsetFetchResponse', 6, [
  field('throttleTimeMs', 'int32', { since: 3 }),
  field('topics', responseTopic, { until: 7 }),
  field('errorCode', 'int16', { since: 2, until: 7 }),
  field('groups', [field('groupId', 'string'), field('topics', responseTopic), field('errorCode', 'int16')], { since: 8 }),
]);

export type OffsetFetchRequestData = StructOf<typeof OffsetFetchRequest.fields>;
