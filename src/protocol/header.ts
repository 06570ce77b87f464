// Request header (every request frame starts with it):
//
//   api_key         u16
//   api_version     i16   negotiated through ApiVersions; gates the body's fields
//   correlation_id  i32   per-connection counter; streaming replies reuse it
//   client_id       String
//
// A response has no header beyond `correlation_id: i32`.

import type { Reader, Writer } from './codec.js';

export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string;
}

export function decodeRequestHeader(r: Reader): RequestHeader {
  const apiKey = r.u16('header.api_key');
  const apiVersion = r.i16('header.api_version');
  const correlationId = r.i32('header.correlation_id');
  const clientId = r.string('header.client_id');
  return { apiKey, apiVersion, correlationId, clientId };
}

export function encodeRequestHeader(w: Writer, header: RequestHeader): void {
  w.u16(header.apiKey);
  w.i16(header.apiVersion);
  w.i32(header.correlationId);
  w.string(header.clientId);
}

export function decodeResponseCorrelationId(r: Reader): number {
  return r.i32('correlation_id');
}

export function encodeResponseCorrelationId(w: Writer, correlationId: number): void {
  w.i32(correlationId);
}
