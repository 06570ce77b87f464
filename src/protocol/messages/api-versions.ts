// ApiVersions (key 18), the first request on every connection (sent at v2).
//
// Request:
//   client_version  String  v >= 1
//   client_os       String  v >= 1
//   client_arch     String  v >= 1
//
// Response:
//   error_code        ErrorCode
//   api_keys          Vec<{api_key i16, min_version i16, max_version i16}>
//   platform_version  String   the client parses it as semver (the SC's must be >= 0.9.0)

import { DecodeError, type Reader, type Writer } from '../codec.js';
import { decodeErrorCode, encodeErrorCode, type FluvioError } from '../error-code.js';
import type { ApiVersionKey } from '../api-keys.js';
import { isSemver } from '../semver.js';

export type { ApiVersionKey } from '../api-keys.js';

export interface ApiVersionsRequest {
  clientVersion: string;
  clientOs: string;
  clientArch: string;
}

export interface ApiVersionsResponse {
  errorCode: FluvioError;
  apiKeys: ApiVersionKey[];
  platformVersion: string;
}

export function encodeApiVersionsRequest(w: Writer, req: ApiVersionsRequest, version: number): void {
  if (version >= 1) {
    w.string(req.clientVersion);
    w.string(req.clientOs);
    w.string(req.clientArch);
  }
}

export function decodeApiVersionsRequest(r: Reader, version: number): ApiVersionsRequest {
  if (version < 1) return { clientVersion: '', clientOs: '', clientArch: '' };
  const clientVersion = r.string('client_version');
  const clientOs = r.string('client_os');
  const clientArch = r.string('client_arch');
  return { clientVersion, clientOs, clientArch };
}

export function encodeApiVersionsResponse(w: Writer, res: ApiVersionsResponse, _version: number): void {
  if (!isSemver(res.platformVersion)) throw new RangeError(`platform version ${JSON.stringify(res.platformVersion)} is not semver`);
  encodeErrorCode(w, res.errorCode);
  w.array(res.apiKeys, (key) => {
    w.i16(key.apiKey);
    w.i16(key.minVersion);
    w.i16(key.maxVersion);
  });
  w.string(res.platformVersion);
}

export function decodeApiVersionsResponse(r: Reader, _version: number): ApiVersionsResponse {
  const errorCode = decodeErrorCode(r);
  const apiKeys = r.array(
    () => ({
      apiKey: r.i16('api_keys.api_key'),
      minVersion: r.i16('api_keys.min_version'),
      maxVersion: r.i16('api_keys.max_version'),
    }),
    'api_keys',
    6,
  );
  const platformVersion = r.string('platform_version');
  if (!isSemver(platformVersion)) throw new DecodeError(`platform_version ${JSON.stringify(platformVersion)} is not semver`);
  return { errorCode, apiKeys, platformVersion };
}
