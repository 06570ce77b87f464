// Kafka request and response headers.
//
//   Request header v1 (classic request versions)
//     api_key         i16
//     api_version     i16
//     correlation_id  i32
//     client_id       NULLABLE_STRING
//   Request header v2 (flexible request versions): v1, then TAGGED_FIELDS.
//     client_id stays a classic NULLABLE_STRING even here.
//
//   Response header v0: correlation_id i32
//   Response header v1 (flexible response versions): v0, then TAGGED_FIELDS.
//     ApiVersions answers with header v0 in every version, so that a client
//     that does not yet know our versions can read the answer.

import { KafkaReader, KafkaWriter } from './codec.js';

export interface KafkaRequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
}

/** The fixed start of every request: enough to answer even a request we cannot decode further. */
export function decodeRequestHeaderStart(r: KafkaReader): KafkaRequestHeader {
  const apiKey = r.i16('header.api_key');
  const apiVersion = r.i16('header.api_version');
  const correlationId = r.i32('header.correlation_id');
  const clientId = r.kafkaString(false, 'header.client_id');
  return { apiKey, apiVersion, correlationId, clientId };
}

export function encodeRequestHeader(w: KafkaWriter, header: KafkaRequestHeader, flexible: boolean): void {
  w.i16(header.apiKey).i16(header.apiVersion).i32(header.correlationId).kafkaString(header.clientId, false);
  if (flexible) w.emptyTaggedFields();
}

export function encodeResponseHeader(w: KafkaWriter, correlationId: number, flexible: boolean): void {
  w.i32(correlationId);
  if (flexible) w.emptyTaggedFields();
}
