import { Writer } from '../protocol/codec.js';
import { ErrorCode } from '../protocol/error-code.js';
import {
  decodeApiVersionsRequest,
  encodeApiVersionsResponse,
  type ApiVersionKey,
} from '../protocol/messages/api-versions.js';
import type { RequestContext } from './net/connection.js';

/**
 * ApiVersions (18): the handshake on every connection. The client parses
 * platform_version as semver and, on the SC, requires at least 0.9.0; we
 * answer with the Fluvio release whose protocol we speak.
 */
export const PLATFORM_VERSION = '0.11.11';

export function apiVersionsHandler(apiKeys: readonly ApiVersionKey[], platformVersion: string) {
  return ({ header, body, connection }: RequestContext): void => {
    decodeApiVersionsRequest(body, header.apiVersion);
    body.expectEnd('ApiVersions request');
    const writer = new Writer();
    encodeApiVersionsResponse(
      writer,
      { errorCode: { code: ErrorCode.None }, apiKeys: [...apiKeys], platformVersion },
      header.apiVersion,
    );
    connection.send(header.correlationId, writer);
  };
}
