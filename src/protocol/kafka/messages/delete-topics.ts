// DeleteTopics (key 20), served v0-6; flexible from v4.
//
//   Request
//     topics       [name string?, topic_id uuid]  v6+
//     topic_names  [string]                       v0-5
//     timeout_ms   i32
//   Response
//     throttle_time_ms  i32  v1+
//     responses         [name string (nullable v6+), topic_id uuid v6+, error_code i16,
//                        error_message string? v5+]

import { arrayOf, field, message, type StructOf } from '../schema.js';

export const DeleteTopicsRequest = message('DeleteTopicsRequest', 4, [
  field('topics', [field('name', 'string', { nullableSince: 6 }), field('topicId', 'uuid')], { since: 6 }),
  field('topicNames', arrayOf('string'), { until: 5 }),
  field('timeoutMs', 'int32'),
]);

export const DeleteTopicsResponse = message('DeleteTopicsResponse', 4, [
  field('throttleTimeMs', 'int32', { since: 1 }),
  field('responses', [
    field('name', 'string', { nullableSince: 6 }),
    field('topicId', 'uuid', { since: 6 }),
    field('errorCode', 'int16'),
    field('errorMessage', 'string', { since: 5, nullableSince: 5 }),
  ]),
]);

export type DeleteTopicsRequestData = StructOf<typeof DeleteTopicsRequest.fields>;
