// DescribeGroups (key 15), served v0-5; flexible from v5.
//
//   Request
//     groups                         [string]
//     include_authorized_operations  bool  v3+
//   Response
//     throttle_time_ms  i32  v1+
//     groups            [error_code i16, group_id string, group_state string, protocol_type string,
//                        protocol_data string (the chosen assignor),
//                        members [member_id string, group_instance_id string? v4+, client_id string,
//                                 client_host string, member_metadata bytes, member_assignment bytes],
//                        authorized_operations i32 v3+]

import { arrayOf, field, message, type StructOf } from '../schema.js';

export const DescribeGroupsRequest = message('DescribeGroupsRequest', 5, [
  field('groups', arrayOf('string')),
  field('includeAuthorizedOperations', 'bool', { since: 3 }),
]);

export const DescribeGroupsResponse = message('DescribeGroupsResponse', 5, [
  field('throttleTimeMs', 'int32', { since: 1 }),
  field('groups', [
    field('errorCode', 'int16'),
    field('groupId', 'string'),
    field('groupState', 'string'),
    field('protocolType', 'string'),
    field('protocolData', 'string'),
    field('members', [
      field('memberId', 'string'),
      field('groupInstanceId', 'string', { since: 4, nullableSince: 4 }),
      field('clientId', 'string'),
      field('clientHost', 'string'),
      field('memberMetadata', 'bytes'),
      field('memberAssignment', 'bytes'),
    ]),
    field('authorizedOperations', 'int32', { since: 3, default: -2147483648 }),
  ]),
]);

export type DescribeGroupsRequestData = StructOf<typeof DescribeGroupsRequest.fields>;
