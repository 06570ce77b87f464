// OffsetCommit (key 8), served v2-8; flexible from v8.
//
//   Request
//     group_id              string
//     generation_id         i32      -1 for a commit outside a group generation (simple consumers)
//     member_id             string
//     group_instance_id     string?  v7+
//     retention_time_ms     i64      v2-4 (ignored: offsets are kept until the group is deleted)
//     topics                [name string,
//                            partitions [partition_index i32, committed_offset i64,
//                                        committed_leader_epoch i32 v6+, committed_metadata string?]]
//   Response
//     throttle_time_ms      i32  v3+
//     topics                [name string, partitions [partition_index i32, error_code i16]]

import { field, message, type StructOf } from '../schema.js';

export const OffsetCommitRequest = message('OffsetCommitRequest', 8, [
  field('groupId', 'string'),
  field('generationId', 'int32', { default: -1 }),
  field('memberId', 'string'),
  field('groupInstanceId', 'string', { since: 7, nullableSince: 7 }),
  field('retentionTimeMs', 'int64', { since: 2, until: 4, default: -1 }),
  field('topics', [
    field('name', 'string'),
    field('partitions', [
      field('partitionIndex', 'int32'),
      field('committedOffset', 'int64'),
      field('committedLeaderEpoch', 'int32', { since: 6, default: -1 }),
      field('committedMetadata', 'string', { nullableSince: 0 }),
    ]),
  ]),
]);

export const OffsetCommitResponse = message('OffsetCommitResponse', 8, [
  field('throttleTimeMs', 'int32', { since: 3 }),
  field('topics', [field('name', 'string'), field('partitions', [field('partitionIndex', 'int32'), field('errorCode', 'int16')])]),
]);

export type OffsetCommitRequestData = StructOf<typeof OffsetCommitRequest.fields>;
