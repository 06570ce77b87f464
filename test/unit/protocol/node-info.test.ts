import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Reader, Writer } from '../../../src/protocol/codec.js';
import { decodeNodeInfoRequest, decodeNodeInfoResponse, encodeNodeInfoRequest, encodeNodeInfoResponse, type NodeInfoResponse } from '../../../src/protocol/messages/node-info.js';

function roundTrip(response: NodeInfoResponse): NodeInfoResponse {
  const w = new Writer();
  encodeNodeInfoResponse(w, response, 0);
  const r = new Reader(w.finish());
  const decoded = decodeNodeInfoResponse(r, 0);
  r.expectEnd('NodeInfo response');
  return decoded;
}

test('NodeInfo response: URL, TLS and auth flags, with and without a URL', () => {
  assert.deepEqual(roundTrip({ httpUrl: 'https://node1:9080', httpTls: true, httpAuth: true }), { httpUrl: 'https://node1:9080', httpTls: true, httpAuth: true });
  assert.deepEqual(roundTrip({ httpTls: false, httpAuth: false }), { httpTls: false, httpAuth: false });
  const w = new Writer();
  encodeNodeInfoResponse(w, { httpUrl: 'http://a:1', httpTls: false, httpAuth: true }, 0);
  // Option tag 1, u16 length 10, the URL, then the two bools.
  assert.deepEqual([...w.finish()], [1, 0, 10, ...Buffer.from('http://a:1'), 0, 1]);
});

test('NodeInfo request: empty; trailing bytes are refused', () => {
  const w = new Writer();
  encodeNodeInfoRequest(w, {}, 0);
  assert.equal(w.finish().length, 0);
  assert.deepEqual(decodeNodeInfoRequest(new Reader(Buffer.alloc(0)), 0), {});
  assert.throws(() => decodeNodeInfoRequest(new Reader(Buffer.from([1])), 0), /NodeInfo request/);
});
