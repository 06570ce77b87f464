// CreateTopics (key 19), served v0-7; flexible from v5.
//
//   Request
//     topics         [name string, num_partitions i32, replication_factor i16,
//                     assignments [partition_index i32, broker_ids [i32]],
//                     configs [name string, value string?]]
//     timeout_ms     i32
//     validate_only  bool  v1+
//   Response
//     throttle_time_ms  i32  v2+
//     topics            [name string, topic_id uuid v7+, error_code i16, error_message string? v1+,
//                        num_partitions i32 v5+, replication_factor i16 v5+,
//                        configs [name string, value string?, read_only bool, config_source i8,
//                                 is_sensitive bool]? v5+]

import { arrayOf, field, message, type StructOf } from '../schema.js';

export const CreateTopicsRequest = message('CreateTopicsRequest', 5, [
  field('topics', [
    field('name', 'string'),
    field('numPartitions', 'int32'),
    field('replicationFactor', 'int16'),
    field('assignments', [field('partitionIndex', 'int32'), field('brokerIds', arrayOf('int32'))]),
    field('configs', [field('name', 'string'), field('value', 'string', { nullableSince: 0 })]),
  ]),
  field('timeoutMs', 'int32', { default: 60_000 }),
  field('validateOnly', 'bool', { since: 1 }),
]);

export const CreateTopicsResponse = message('CreateTopicsResponse', 5, [
  field('throttleTimeMs', 'int32', { since: 2 }),
  field('topics', [
    field('name', 'string'),
    field('topicId', 'uuid', { since: 7 }),
    field('errorCode', 'int16'),
    field('errorMessage', 'string', { since: 1, nullableSince: 0 }),
    field('numPartitions', 'int32', { since: 5, default: -1 }),
    field('replicationFactor', 'int16', { since: 5, default: -1 }),
    field(
      'configs',
      [
        field('name', 'string'),
        field('value', 'string', { nullableSince: 5 }),
        field('readOnly', 'bool'),
        field('configSource', 'int8', { default: -1 }),
        field('isSensitive', 'bool'),
      ],
      { since: 5, nullableSince: 5 },
    ),
  ]),
]);

export type CreateTopicsRequestData = StructOf<typeof CreateTopicsRequest.fields>;
