import { Writer } from '../protocol/index.js';
import { ErrorCode } from '../protocol/index.js';
import {
  decodeApiVersionsRequest,
  encodeApiVersionsResponse,
  type ApiVersionKey,
} from '../protocol/index.js';
import { ProtocolViolation, type RequestContext, type RequestHandler, type Router } from './net/connection.js';

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

/**
 * Routes by api key and refuses a request whose api_version lies outside the
 * range this side advertises for its key: the decoders would otherwise read
 * the body with a layout the peer does not use. The refusal is a
 * ProtocolViolation, so the connection closes and the reason is logged.
 * ApiVersions itself is not advertised (as in Fluvio); any version >= 0 is
 * served, since it is how a peer learns what to send.
 */
export function versionCheckedRouter(
  handlers: ReadonlyMap<number, RequestHandler>,
  advertised: readonly ApiVersionKey[],
): Router {
  const checked = new Map<number, RequestHandler>();
  for (const [apiKey, handler] of handlers) {
    const range = advertised.find((key) => key.apiKey === apiKey);
    const min = range?.minVersion ?? 0;
    const max = range?.maxVersion ?? 0x7fff;
    checked.set(apiKey, (ctx) => {
      const version = ctx.header.apiVersion;
      if (version < min || version > max) {
        throw new ProtocolViolation(`api_version ${version} of api key ${apiKey} is not supported (${min}..${max})`);
      }
      return handler(ctx);
    });
  }
  return (apiKey) => checked.get(apiKey);
}
