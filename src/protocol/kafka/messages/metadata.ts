// Metadata (key 3), served v1-12; flexible from v9.
//
//   Request
//     topics                      [topic_id uuid v10+, name string (nullable v10+)]  null = all topics (v1+)
//     allow_auto_topic_creation   bool  v4+
//     include_cluster_authorized_operations  bool  v8-10
//     include_topic_authorized_operations    bool  v8+
//   Response
//     throttle_time_ms   i32  v3+
//     brokers            [node_id i32, host string, port i32, rack string? v1+]
//     cluster_id         string?  v2+
//     controller_id      i32  v1+
//     topics             [error_code i16, name string (nullable v12+), topic_id uuid v10+,
//                         is_internal bool v1+,
//                         partitions [error_code i16, partition_index i32, leader_id i32,
//                                     leader_epoch i32 v7+, replica_nodes [i32], isr_nodes [i32],
//                                     offline_replicas [i32] v5+],
//                         topic_authorized_operations i32 v8+]
//     cluster_authorized_operations  i32  v8-10

import { arrayOf, field, message, type StructOf } from '../schema.js';

const UNKNOWN_OPERATIONS = -2147483648;

export const MetadataRequest = message('MetadataRequest', 9, [
  field('topics', [field('topicId', 'uuid', { since: 10 }), field('name', 'string', { nullableSince: 10 })], { nullableSince: 1 }),
  field('allowAutoTopicCreation', 'bool', { since: 4, default: true }),
  field('includeClusterAuthorizedOperations', 'bool', { since: 8, until: 10 }),
  field('includeTopicAuthorizedOperations', 'bool', { since: 8 }),
]);

export const MetadataResponse = message('MetadataResponse', 9, [
  field('throttleTimeMs', 'int32', { since: 3 }),
  field('brokers', [
    field('nodeId', 'int32'),
    field('host', 'string'),
    field('port', 'int32'),
    field('rack', 'string', { since: 1, nullableSince: 1 }),
  ]),
  field('clusterId', 'string', { since: 2, nullableSince: 2 }),
  field('controllerId', 'int32', { since: 1, default: -1 }),
  field('topics', [
    field('errorCode', 'int16'),
    field('name', 'string', { nullableSince: 12 }),
    field('topicId', 'uuid', { since: 10 }),
    field('isInternal', 'bool', { since: 1 }),
    field('partitions', [
      field('errorCode', 'int16'),
      field('partitionIndex', 'int32'),
      field('leaderId', 'int32'),
      field('leaderEpoch', 'int32', { since: 7, default: -1 }),
      field('replicaNodes', arrayOf('int32')),
      field('isrNodes', arrayOf('int32')),
      field('offlineReplicas', arrayOf('int32'), { since: 5 }),
    ]),
    field('topicAuthorizedOperations', 'int32', { since: 8, default: UNKNOWN_OPERATIONS }),
  ]),
  field('clusterAuthorizedOperations', 'int32', { since: 8, until: 10, default: UNKNOWN_OPERATIONS }),
]);

export type MetadataRequestData = StructOf<typeof MetadataRequest.fields>;
