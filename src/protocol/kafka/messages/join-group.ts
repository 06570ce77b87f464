// JoinGroup (key 11), served v0-9; flexible from v6.
//
//   Request
//     group_id              string
//     session_timeout_ms    i32
//     rebalance_timeout_ms  i32      v1+  (v0: the session timeout)
//     member_id             string   empty on the first join
//     group_instance_id     string?  v5+  (static membership is not supported: must be null)
//     protocol_type         string   "consumer" for consumers
//     protocols             [name string, metadata bytes]   the assignors the member offers
//     reason                string?  v8+
//   Response
//     throttle_time_ms  i32      v2+
//     error_code        i16
//     generation_id     i32
//     protocol_type     string?  v7+
//     protocol_name     string   (nullable v7+)
//     leader            string
//     skip_assignment   bool     v9+
//     member_id         string
//     members           [member_id string, group_instance_id string? v5+, metadata bytes]
//                       only the leader gets the members
//
// From v4 a join without a member id is answered MEMBER_ID_REQUIRED with a new
// member id, which the client sends back in its second join (KIP-394).

import { field, message, type StructOf } from '../schema.js';

export const JoinGroupRequest = message('JoinGroupRequest', 6, [
  field('groupId', 'string'),
  field('sessionTimeoutMs', 'int32'),
  field('rebalanceTimeoutMs', 'int32', { since: 1, default: -1 }),
  field('memberId', 'string'),
  field('groupInstanceId', 'string', { since: 5, nullableSince: 5 }),
  field('protocolType', 'string'),
  field('protocols', [field('name', 'string'), field('metadata', 'bytes')]),
  field('reason', 'string', { since: 8, nullableSince: 8 }),
]);

export const JoinGroupResponse = message('JoinGroupResponse', 6, [
  field('throttleTimeMs', 'int32', { since: 2 }),
  field('errorCode', 'int16'),
  field('generationId', 'int32', { default: -1 }),
  field('protocolType', 'string', { since: 7, nullableSince: 7 }),
  field('protocolName', 'string', { nullableSince: 7 }),
  field('leader', 'string'),
  field('skipAssignment', 'bool', { since: 9 }),
  field('memberId', 'string'),
  field('members', [field('memberId', 'string'), field('groupInstanceId', 'string', { since: 5, nullableSince: 5 }), field('metadata', 'bytes')]),
]);

export type JoinGroupRequestData = StructOf<typeof JoinGroupRequest.fields>;
