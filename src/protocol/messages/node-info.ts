// NodeInfo (SC key 6001): a Freshet request of its own, not Fluvio's. The
// SC answers where the node's HTTP API is (the console: connectors,
// dataflows, users, ACLs) and what it asks of callers, so that the CLI
// given only a cluster endpoint (-c HOST:PORT or a profile) finds it.
// Fluvio clients never send it; the key sits far from Fluvio's (1001..1006).
//
// Request (version 0):
//   (empty)
//
// Response (version 0):
//   http_url       Option<String>   scheme://host:port of the HTTP API; None when the node runs none
//   http_tls       bool             the API speaks HTTPS (with the SC's certificate)
//   http_auth      bool             callers must authenticate (bearer token or client certificate)

import type { Reader, Writer } from '../codec.js';

export const NODE_INFO_API_KEY = 6001;
export const NODE_INFO_VERSIONS = Object.freeze({ apiKey: NODE_INFO_API_KEY, minVersion: 0, maxVersion: 0 });

export type NodeInfoRequest = Record<string, never>;

export interface NodeInfoResponse {
  httpUrl?: string;
  httpTls: boolean;
  httpAuth: boolean;
}

export function encodeNodeInfoRequest(_w: Writer, _req: NodeInfoRequest, _version: number): void {}

export function decodeNodeInfoRequest(r: Reader, _version: number): NodeInfoRequest {
  r.expectEnd('NodeInfo request');
  return {};
}

export function encodeNodeInfoResponse(w: Writer, res: NodeInfoResponse, _version: number): void {
  w.optional(res.httpUrl, (url) => w.string(url));
  w.bool(res.httpTls);
  w.bool(res.httpAuth);
}

export function decodeNodeInfoResponse(r: Reader, _version: number): NodeInfoResponse {
  const httpUrl = r.optional(() => r.string('node_info.http_url'), 'node_info.http_url');
  const httpTls = r.bool('node_info.http_tls');
  const httpAuth = r.bool('node_info.http_auth');
  return httpUrl === undefined ? { httpTls, httpAuth } : { httpUrl, httpTls, httpAuth };
}
