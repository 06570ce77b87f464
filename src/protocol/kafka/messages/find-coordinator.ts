// FindCoordinator (key 10), served v0-4; flexible from v3.
//
//   Request
//     key               string  v0-3
//     key_type          i8      v1+  (0 group, 1 transaction)
//     coordinator_keys  [string] v4+
//   Response
//     throttle_time_ms  i32     v1+
//     error_code        i16     v0-3
//     error_message     string? v1-3
//     node_id, host, port       v0-3
//     coordinators      [key string, node_id i32, host string, port i32, error_code i16,
//                        error_message string?]  v4+

import { arrayOf, field, message, type StructOf } from '../schema.js';

export const FindCoordinatorRequest = message('FindCoordinatorRequest', 3, [
  field('key', 'string', { until: 3 }),
  field('keyType', 'int8', { since: 1 }),
  field('coordinatorKeys', arrayOf('string'), { since: 4 }),
]);

export const FindCoordinatorResponse = message('FindCoordinatorResponse', 3, [
  field('throttleTimeMs', 'int32', { since: 1 }),
  field('errorCode', 'int16', { until: 3 }),
  field('errorMessage', 'string', { since: 1, until: 3, nullableSince: 1 }),
  field('nodeId', 'int32', { until: 3 }),
  field('host', 'string', { until: 3 }),
  field('port', 'int32', { until: 3 }),
  field(
    'coordinators',
    [
      field('key', 'string'),
      field('nodeId', 'int32'),
      field('host', 'string'),
      field('port', 'int32'),
      field('errorCode', 'int16'),
      field('errorMessage', 'string', { nullableSince: 4 }),
    ],
    { since: 4 },
  ),
]);

export type FindCoordinatorRequestData = StructOf<typeof FindCoordinatorRequest.fields>;
