// ApiVersions (key 18), served v0-3; flexible from v3.
//
//   Request
//     client_software_name     string   v3+
//     client_software_version  string   v3+
//   Response (always with response header v0)
//     error_code               i16
//     api_keys                 [api_key i16, min_version i16, max_version i16]
//     throttle_time_ms         i32      v1+
//
// A request at a version we do not know is answered at v0 with
// UNSUPPORTED_VERSION and our ranges, so the client can retry at one we serve.

import { field, message, type StructOf } from '../schema.js';


export const ApiVersionsRequest = message('ApiVersionsRequest', 3, [
  field('clientSoftwareName', 'string', { since: 3 }),
  field('clientSoftwareVersion', 'string', { since: 3 }),
]);

export const ApiVersionsResponse = message('ApiVersionsResponse', 3, [
  field('errorCode', 'int16'),
  field('apiKeys', [field('apiKey', 'int16'), field('minVersion', 'int16'), field('maxVersion', 'int16')]),
  field('throttleTimeMs', 'int32', { since: 1 }),
]);

export type ApiVersionsRequestData = StructOf<typeof ApiVersionsRequest.fields>;
