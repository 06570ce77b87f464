// Heartbeat (key 12), served v0-4; flexible from v4.
//
//   Request
//     group_id           string
//     generation_id      i32
//     member_id          string
//     group_instance_id  string?  v3+
//   Response
//     throttle_time_ms   i32  v1+
//     error_code         i16  REBALANCE_IN_PROGRESS tells the member to join again

import { field, message, type StructOf } from '../schema.js';

export const HeartbeatRequest = message('HeartbeatRequest', 4, [
  field('groupId', 'string'),
  field('generationId', 'int32'),
  field('memberId', 'string'),
  field('groupInstanceId', 'string', { since: 3, nullableSince: 3 }),
]);

export const HeartbeatResponse = message('HeartbeatResponse', 4, [field('throttleTimeMs', 'int32', { since: 1 }), field('errorCode', 'int16')]);

export type HeartbeatRequestData = StructOf<typeof HeartbeatRequest.fields>;
