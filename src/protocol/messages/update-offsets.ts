// UpdateOffsets (SPU key 1005), always v0: a stream consumer's acknowledgement.
//
// Request:
//   offsets  Vec<{offset i64, session_id u32}>   session_id = the stream_id of the stream
//
// Response:
//   status   Vec<{session_id u32, error ErrorCode}>
//
// The client ignores the response's content but waits for it.

import type { Reader, Writer } from '../codec.js';
import { decodeErrorCode, encodeErrorCode, type FluvioError } from '../error-code.js';

export interface OffsetUpdate {
  offset: number;
  sessionId: number;
}

export interface UpdateOffsetsRequest {
  offsets: OffsetUpdate[];
}

export interface OffsetUpdateStatus {
  sessionId: number;
  error: FluvioError;
}

export interface UpdateOffsetsResponse {
  status: OffsetUpdateStatus[];
}

export function encodeUpdateOffsetsRequest(w: Writer, req: UpdateOffsetsRequest, _version: number): void {
  w.array(req.offsets, (update) => {
    w.i64(update.offset);
    w.u32(update.sessionId);
  });
}

export function decodeUpdateOffsetsRequest(r: Reader, _version: number): UpdateOffsetsRequest {
  const offsets = r.array(
    (): OffsetUpdate => {
      const offset = r.i64('offsets.offset');
      return { offset, sessionId: r.u32('offsets.session_id') };
    },
    'offsets',
    12,
  );
  return { offsets };
}

export function encodeUpdateOffsetsResponse(w: Writer, res: UpdateOffsetsResponse, _version: number): void {
  w.array(res.status, (status) => {
    w.u32(status.sessionId);
    encodeErrorCode(w, status.error);
  });
}

export function decodeUpdateOffsetsResponse(r: Reader, _version: number): UpdateOffsetsResponse {
  const status = r.array(
    (): OffsetUpdateStatus => {
      const sessionId = r.u32('status.session_id');
      return { sessionId, error: decodeErrorCode(r, 'status.error') };
    },
    'status',
    6,
  );
  return { status };
}
