import { Writer } from '../../protocol/index.js';
import { ErrorCode } from '../../protocol/index.js';
import { decodeUpdateOffsetsRequest, encodeUpdateOffsetsResponse } from '../../protocol/index.js';
import type { RequestContext } from '../net/connection.js';
import type { StreamFetchService } from './stream-fetch.js';

/** UpdateOffsets (1005): a consumer acknowledges what it has read, which paces its stream. */
export function updateOffsetsHandler(streams: StreamFetchService) {
  return ({ header, body, connection }: RequestContext): void => {
    const request = decodeUpdateOffsetsRequest(body, header.apiVersion);
    body.expectEnd('UpdateOffsets request');
    const status = request.offsets.map(({ offset, sessionId }) => ({
      sessionId,
      error: { code: streams.acknowledge(connection, sessionId, offset) ? ErrorCode.None : ErrorCode.FetchSessionNotFoud },
    }));
    const writer = new Writer();
    encodeUpdateOffsetsResponse(writer, { status }, header.apiVersion);
    connection.send(header.correlationId, writer);
  };
}
