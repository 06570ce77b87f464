// SyncGroup (key 14), served v0-5; flexible from v4.
//
//   Request
//     group_id           string
//     generation_id      i32
//     member_id          string
//     group_instance_id  string?  v3+
//     protocol_type      string?  v5+
//     protocol_name      string?  v5+
//     assignments        [member_id string, assignment bytes]   sent by the leader only
//   Response
//     throttle_time_ms   i32      v1+
//     error_code         i16
//     protocol_type      string?  v5+
//     protocol_name      string?  v5+
//     assignment         bytes    this member's share

import { field, message, type StructOf } from '../schema.js';

export const SyncGroupRequest = message('SyncGroupRequest', 4, [
  field('groupId', 'string'),
  field('generationId', 'int32'),
  field('memberId', 'string'),
  field('groupInstanceId', 'string', { since: 3, nullableSince: 3 }),
  field('protocolType', 'string', { since: 5, nullableSince: 5 }),
  field('protocolName', 'string', { since: 5, nullableSince: 5 }),
  field('assignments', [field('memberId', 'string'), field('assignment', 'bytes')]),
]);

export const SyncGroupResponse = message('SyncGroupResponse', 4, [
  field('throttleTimeMs', 'int32', { since: 1 }),
  field('errorCode', 'int16'),
  field('protocolType', 'string', { since: 5, nullableSince: 5 }),
  field('protocolName', 'string', { since: 5, nullableSince: 5 }),
  field('assignment', 'bytes'),
]);

export type SyncGroupRequestData = StructOf<typeof SyncGroupRequest.fields>;
