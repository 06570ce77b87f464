// Status, the response of Create (1001) and Delete (1002); not wrapped in a TypeBuffer:
//
//   name           String
//   error_code     ErrorCode
//   error_message  Option<String>
//
// The client shows the error code's text ("Topic already exists"), not error_message.

import type { Reader, Writer } from '../codec.js';
import { decodeErrorCode, encodeErrorCode, type FluvioError } from '../error-code.js';

export interface Status {
  name: string;
  errorCode: FluvioError;
  errorMessage?: string;
}

export function encodeStatus(w: Writer, status: Status, _version: number): void {
  w.string(status.name);
  encodeErrorCode(w, status.errorCode);
  w.optional(status.errorMessage, (message) => w.string(message));
}

export function decodeStatus(r: Reader, _version: number): Status {
  const name = r.string('status.name');
  const errorCode = decodeErrorCode(r, 'status.error_code');
  const errorMessage = r.optional(() => r.string('status.error_message'), 'status.error_message');
  return errorMessage === undefined ? { name, errorCode } : { name, errorCode, errorMessage };
}
