// ListOffsets (key 2), served v1-7; flexible from v6.
//
//   Request
//     replica_id       i32
//     isolation_level  i8   v2+
//     topics           [name string,
//                       partitions [partition_index i32, current_leader_epoch i32 v4+, timestamp i64]]
//                       timestamp: -1 latest, -2 earliest, -3 the record with the largest timestamp (v7+),
//                       else the first offset whose timestamp is at or after it
//   Response
//     throttle_time_ms i32  v2+
//     topics           [name string,
//                       partitions [partition_index i32, error_code i16, timestamp i64, offset i64,
//                                   leader_epoch i32 v4+]]

import { field, message, type StructOf } from '../schema.js';

export const ListOffsetsRequest = message('ListOffsetsRequest', 6, [
  field('replicaId', 'int32'),
  field('isolationLevel', 'int8', { since: 2 }),
  field('topics', [
    field('name', 'string'),
    field('partitions', [
      field('partitionIndex', 'int32'),
      field('currentLeaderEpoch', 'int32', { since: 4, default: -1 }),
      field('timestamp', 'int64'),
    ]),
  ]),
]);

export const ListOffsetsResponse = message('ListOffsetsResponse', 6, [
  field('throttleTimeMs', 'int32', { since: 2 }),
  field('topics', [
    field('name', 'string'),
    field('partitions', [
      field('partitionIndex', 'int32'),
      field('errorCode', 'int16'),
      field('timestamp', 'int64', { default: -1 }),
      field('offset', 'int64', { default: -1 }),
      field('leaderEpoch', 'int32', { since: 4, default: -1 }),
    ]),
  ]),
]);

export type ListOffsetsRequestData = StructOf<typeof ListOffsetsRequest.fields>;
