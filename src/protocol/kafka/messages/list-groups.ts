// ListGroups (key 16), served v0-5; flexible from v3.
//
//   Request
//     states_filter  [string]  v4+  (empty = every state)
//     types_filter   [string]  v5+
//   Response
//     throttle_time_ms  i32  v1+
//     error_code        i16
//     groups            [group_id string, protocol_type string, group_state string v4+,
//                        group_type string v5+ ("classic")]

import { arrayOf, field, message, type StructOf } from '../schema.js';

export const ListGroupsRequest = message('ListGroupsRequest', 3, [
  field('statesFilter', arrayOf('string'), { since: 4 }),
  field('typesFilter', arrayOf('string'), { since: 5 }),
]);

export const ListGroupsResponse = message('ListGroupsResponse', 3, [
  field('throttleTimeMs', 'int32', { since: 1 }),
  field('errorCode', 'int16'),
  field('groups', [
    field('groupId', 'string'),
    field('protocolType', 'string'),
    field('groupState', 'string', { since: 4 }),
    field('groupType', 'string', { since: 5 }),
  ]),
]);

export type ListGroupsRequestData = StructOf<typeof ListGroupsRequest.fields>;
