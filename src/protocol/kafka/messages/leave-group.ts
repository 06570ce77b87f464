// LeaveGroup (key 13), served v0-5; flexible from v4.
//
//   Request
//     group_id   string
//     member_id  string  v0-2
//     members    [member_id string, group_instance_id string?, reason string? v5+]  v3+
//   Response
//     throttle_time_ms  i32  v1+
//     error_code        i16
//     members           [member_id string, group_instance_id string?, error_code i16]  v3+

import { field, message, type StructOf } from '../schema.js';

export const LeaveGroupRequest = message('LeaveGroupRequest', 4, [
  field('groupId', 'string'),
  field('memberId', 'string', { until: 2 }),
  field(
    'members',
    [field('memberId', 'string'), field('groupInstanceId', 'string', { nullableSince: 3 }), field('reason', 'string', { since: 5, nullableSince: 5 })],
    { since: 3 },
  ),
]);

export const LeaveGroupResponse = message('LeaveGroupResponse', 4, [
  field('throttleTimeMs', 'int32', { since: 1 }),
  field('errorCode', 'int16'),
  field('members', [field('memberId', 'string'), field('groupInstanceId', 'string', { nullableSince: 3 }), field('errorCode', 'int16')], { since: 3 }),
]);

export type LeaveGroupRequestData = StructOf<typeof LeaveGroupRequest.fields>;
