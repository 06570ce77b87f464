// The SC's answer to NodeInfo (src/protocol/messages/node-info.ts): where the
// node's HTTP API is. The console starts after the SC listener, so the answer
// is read from the node at each request.

import { Writer } from '../../protocol/index.js';
import { decodeNodeInfoRequest, encodeNodeInfoResponse, type NodeInfoResponse } from '../../protocol/index.js';
import type { RequestContext } from '../net/connection.js';

export type NodeInfoSource = () => NodeInfoResponse;

export function nodeInfoHandler(source: NodeInfoSource) {
  return ({ header, body, connection }: RequestContext): void => {
    decodeNodeInfoRequest(body, header.apiVersion);
    const writer = new Writer();
    encodeNodeInfoResponse(writer, source(), header.apiVersion);
    connection.send(header.correlationId, writer);
  };
}
