// http-source (polling, streaming chunked and SSE responses, ws://), webhook
// and http-sink against local servers the tests start, with a test node.

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { WebSocketServer } from 'ws';
import { freePort } from '../helpers/child-node.js';
import { readAll, readRecords, startConnector, stateDirOf, waitFor } from '../helpers/connectors.js';
import { removeDir, startTestNode } from '../helpers/test-node.js';

type Node = Awaited<ReturnType<typeof startTestNode>>;
let node: Node;

before(async () => {
  node = await startTestNode();
});
after(async () => {
  await node.stop();
  await removeDir(node.dataDir);
});

async function serve(handler: http.RequestListener): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function yaml(name: string, type: string, topic: string, section: string, body: string): string {
  return `apiVersion: 0.1.0\nmeta:\n  name: ${name}\n  type: ${type}\n  version: 0.1.0\n  topic: ${topic}\n${section}:\n${body}`;
}

describe('http-source', () => {
  test('polling: interval, method, body, headers, user-agent; body as text; full response as JSON', async () => {
    const seen: { method?: string; body: string; auth?: string; agent?: string; at: number }[] = [];
    let n = 0;
    const server = await serve((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ method: req.method, body, auth: req.headers.authorization, agent: req.headers['user-agent'], at: Date.now() });
        n++;
        res.setHeader('content-type', 'application/json');
        res.setHeader('set-cookie', ['a=1', 'b=2']);
        res.end(JSON.stringify({ n }));
      });
    });
    const pollingSince = Date.now();
    const text = startConnector(
      yaml('poll-text', 'http-source', 'poll-text', 'http', `  endpoint: ${server.url}/data\n  method: POST\n  body: '{"q":1}'\n  interval: 150ms\n  user_agent: freshet-test\n  headers:\n    - "Authorization: Bearer \${{ secrets.TOKEN }}"\n`).replace(
        '  topic: poll-text\n',
        '  topic: poll-text\n  secrets:\n    - name: TOKEN\n',
      ),
      { endpoint: node.endpoint, stateDir: stateDirOf(node.dataDir), secrets: { TOKEN: 'tkn' } },
    );
    const records = await readRecords(node.endpoint, 'poll-text', 3);
    await text.stop();
    const pollingMs = Date.now() - pollingSince;
    assert.deepEqual(
      records.map((r) => JSON.parse(r.valueString()) as { n: number }).map((v) => typeof v.n),
      ['number', 'number', 'number'],
    );
    assert.equal(seen[0].method, 'POST');
    assert.equal(seen[0].body, '{"q":1}');
    assert.equal(seen[0].auth, 'Bearer tkn');
    assert.equal(seen[0].agent, 'freshet-test');
    // The interval bounds how often the endpoint is asked (a slow machine only makes polls rarer).
    assert.ok(seen.length <= Math.floor(pollingMs / 150) + 2, `${seen.length} polls in ${pollingMs} ms at a 150 ms interval`);

    const full = startConnector(yaml('poll-full', 'http-source', 'poll-full', 'http', `  endpoint: ${server.url}/x\n  interval: 100ms\n  output_type: json\n  output_parts: full\n`), {
      endpoint: node.endpoint,
      stateDir: stateDirOf(node.dataDir),
    });
    const [record] = await readRecords(node.endpoint, 'poll-full', 1);
    await full.stop();
    const value = record.json<{ status: { version: string; code: number; string: string }; header: Record<string, string | string[]>; body: string }>();
    assert.deepEqual(value.status, { version: 'HTTP/1.1', code: 200, string: 'OK' });
    assert.equal(value.header['content-type'], 'application/json');
    assert.deepEqual(value.header['set-cookie'], ['a=1', 'b=2']);
    assert.deepEqual(Object.keys(value.header), Object.keys(value.header).sort());
    assert.match(value.body, /^\{"n":\d+\}$/);

    const bodyJson = startConnector(yaml('poll-json', 'http-source', 'poll-json', 'http', `  endpoint: ${server.url}/x\n  interval: 100ms\n  output_type: json\n`), {
      endpoint: node.endpoint,
      stateDir: stateDirOf(node.dataDir),
    });
    const [wrapped] = await readRecords(node.endpoint, 'poll-json', 1);
    await bodyJson.stop();
    assert.match(wrapped.valueString(), /^\{"body":"\{\\"n\\":\d+\}"\}$/);

    const fullText = startConnector(yaml('poll-full-text', 'http-source', 'poll-full-text', 'http', `  endpoint: ${server.url}/x\n  interval: 100ms\n  output_parts: full\n`), {
      endpoint: node.endpoint,
      stateDir: stateDirOf(node.dataDir),
    });
    const [textual] = await readRecords(node.endpoint, 'poll-full-text', 1);
    await fullText.stop();
    const lines = textual.valueString().split('\n');
    assert.equal(lines[0], 'HTTP/1.1 200 OK');
    assert.ok(lines.includes('content-type: application/json'));
    assert.match(lines.at(-1)!, /^\{"n":\d+\}$/);
    assert.equal(lines.at(-2), '');
    await server.close();
  });

  test('stream mode: a chunked response and a server-sent-events response split by the delimiter', async () => {
    const server = await serve((req, res) => {
      if (req.url === '/chunked') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('alpha\nbe');
        setTimeout(() => res.write('ta\ngamma\n'), 50);
        setTimeout(() => res.end('delta'), 100);
      } else {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('event: tick\ndata: {"i":1}\n\n');
        setTimeout(() => res.write('data: {"i":2}\n\ndata: {"i"'), 50);
        setTimeout(() => res.write(':3}\n\n'), 100);
        // keeps the stream open (as SSE does) until the connector closes it
      }
    });
    const chunked = startConnector(yaml('stream-chunked', 'http-source', 'stream-chunked', 'http', `  endpoint: ${server.url}/chunked\n  stream: true\n  interval: 10s\n`), {
      endpoint: node.endpoint,
      stateDir: stateDirOf(node.dataDir),
    });
    const records = await readRecords(node.endpoint, 'stream-chunked', 4);
    await chunked.stop();
    assert.deepEqual(
      records.map((r) => r.valueString()),
      ['alpha', 'beta', 'gamma', 'delta'],
    );
    const sse = startConnector(yaml('stream-sse', 'http-source', 'stream-sse', 'http', `  endpoint: ${server.url}/sse\n  stream: true\n  delimiter: "\\n\\n"\n`), {
      endpoint: node.endpoint,
      stateDir: stateDirOf(node.dataDir),
    });
    const events = await readRecords(node.endpoint, 'stream-sse', 3);
    await sse.stop();
    assert.deepEqual(
      events.map((r) => r.valueString()),
      ['event: tick\ndata: {"i":1}', 'data: {"i":2}', 'data: {"i":3}'],
    );
    await server.close();
  });

  test('ws:// endpoint: subscription messages sent, each message a record', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    const port = (wss.address() as AddressInfo).port;
    const subscriptions: string[] = [];
    wss.on('connection', (socket, req) => {
      assert.equal(req.headers['x-api-key'], 'k1');
      socket.on('message', (data) => {
        subscriptions.push(data.toString());
        if (subscriptions.length === 2) for (let i = 0; i < 5; i++) socket.send(JSON.stringify({ price: i }));
      });
    });
    const ws = startConnector(
      yaml(
        'ws-prices',
        'http-source',
        'ws-prices',
        'http',
        `  endpoint: ws://127.0.0.1:${port}/feed\n  headers:\n    - "X-Api-Key: k1"\n  websocket_config:\n    subscription_message: '{"sub":"a"}'\n    subscription_messages:\n      - '{"sub":"b"}'\n    ping_interval_ms: 200\n`,
      ),
      { endpoint: node.endpoint, stateDir: stateDirOf(node.dataDir) },
    );
    const records = await readRecords(node.endpoint, 'ws-prices', 5);
    await ws.stop();
    assert.deepEqual(subscriptions, ['{"sub":"a"}', '{"sub":"b"}']);
    assert.deepEqual(
      records.map((r) => r.json<{ price: number }>().price),
      [0, 1, 2, 3, 4],
    );
    for (const client of wss.clients) client.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  });
});

describe('webhook', () => {
  test('single, batched JSON and NDJSON bodies; shared secret refused and accepted; 200 only after the records are stored', async () => {
    const port = await freePort();
    const hook = startConnector(
      yaml('hook', 'webhook', 'hook-events', 'webhook', `  port: ${port}\n  path: /in\n  secret:\n    secret:\n      name: HOOK_SECRET\n`).replace(
        '  topic: hook-events\n',
        '  topic: hook-events\n  secrets:\n    - name: HOOK_SECRET\n',
      ),
      { endpoint: node.endpoint, stateDir: stateDirOf(node.dataDir), secrets: { HOOK_SECRET: 's3cret' } },
    );
    await hook.running;
    const url = `http://127.0.0.1:${port}/in`;
    const post = (body: string, headers: Record<string, string>) => fetch(url, { method: 'POST', body, headers });
    await waitFor('the webhook to listen', async () => (await fetch(url).catch(() => undefined))?.status === 405 || undefined);

    const refused = await post('{"a":1}', { 'content-type': 'application/json' });
    assert.equal(refused.status, 401);
    const wrong = await post('{"a":1}', { 'content-type': 'application/json', 'x-webhook-secret': 'nope' });
    assert.equal(wrong.status, 401);

    const single = await post('{"event":"one"}', { 'content-type': 'application/json', 'x-webhook-secret': 's3cret' });
    assert.equal(single.status, 200);
    assert.deepEqual(await single.json(), { stored: 1 });
    // Answered only after storing: the record is readable right now.
    assert.deepEqual(
      (await readAll(node.endpoint, 'hook-events')).map((r) => r.valueString()),
      ['{"event":"one"}'],
    );

    const batch = await post('[{"event":"two"},{"event":"three"}]', { 'content-type': 'application/json', authorization: 'Bearer s3cret' });
    assert.deepEqual(await batch.json(), { stored: 2 });
    const ndjsonBody = '{"event":"four"}\n\n{"event":"five"}\n';
    const signature = `sha256=${createHmac('sha256', 's3cret').update(ndjsonBody).digest('hex')}`;
    const ndjson = await post(ndjsonBody, { 'content-type': 'application/x-ndjson', 'x-hub-signature-256': signature });
    assert.deepEqual(await ndjson.json(), { stored: 2 });
    assert.deepEqual(
      (await readAll(node.endpoint, 'hook-events')).map((r) => r.json<{ event: string }>().event),
      ['one', 'two', 'three', 'four', 'five'],
    );

    const bad = await post('{"event":', { 'content-type': 'application/json', 'x-webhook-secret': 's3cret' });
    assert.equal(bad.status, 400);
    const badLine = await post('{"ok":1}\nnot json\n', { 'content-type': 'application/x-ndjson', 'x-webhook-secret': 's3cret' });
    assert.equal(badLine.status, 400);
    assert.match(((await badLine.json()) as { error: string }).error, /line 2/);
    assert.equal((await readAll(node.endpoint, 'hook-events')).length, 5, 'a refused request stores nothing');
    await hook.stop();
  });
});

describe('http-sink', () => {
  test('retries 5xx and timeouts with backoff, nothing lost; a 4xx-rejected record goes to the dead-letter topic and the sink goes on', async () => {
    const received: string[] = [];
    const attempts = new Map<string, number>();
    let slowOnce = true;
    const server = await serve((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const count = (attempts.get(body) ?? 0) + 1;
        attempts.set(body, count);
        if (body === 'flaky' && count <= 2) {
          res.writeHead(503).end('busy');
          return;
        }
        if (body === 'slow' && slowOnce) {
          slowOnce = false;
          setTimeout(() => res.writeHead(200).end(), 1500); // longer than http_request_timeout
          return;
        }
        if (body === 'bad') {
          res.writeHead(422, 'Unprocessable Entity').end('{"error":"bad shape"}');
          return;
        }
        received.push(body);
        res.writeHead(200).end();
      });
    });
    const { Freshet } = await import('../../src/client/index.js');
    const client = await Freshet.connect({ endpoint: node.endpoint });
    await client.admin.createTopic('to-http');
    const producer = await client.producer('to-http');
    for (const value of ['a', 'flaky', 'b', 'slow', 'bad', 'c']) await producer.send(null, value);
    await producer.flush();

    const sink = startConnector(
      `apiVersion: 0.1.0
meta:
  name: http-out
  type: http-sink
  version: 0.3.0
  topic: to-http
  consumer:
    offset:
      strategy: manual
      start: beginning
http:
  endpoint: ${server.url}/ingest
  headers:
    - "Content-Type: text/plain"
  http_request_timeout: 300ms
  http_connect_timeout: 300ms
  backoff_min: 50ms
  backoff_max: 2s
`,
      { endpoint: node.endpoint, stateDir: stateDirOf(node.dataDir) },
    );
    await waitFor('every record delivered', () => (received.includes('c') ? true : undefined), 15_000);
    const dlq = await readRecords(node.endpoint, 'http-out-dlq', 1);
    const dead = dlq[0].json<{ connector: string; error: string; value: string; source: { topic: string; offset: number } }>();
    assert.equal(dead.connector, 'http-out');
    assert.equal(dead.value, 'bad');
    assert.match(dead.error, /HTTP 422 Unprocessable Entity: \{"error":"bad shape"\}/);
    assert.deepEqual(dead.source, { topic: 'to-http', partition: 0, offset: 4 });
    // Stored offsets: committed past everything, once written.
    await waitFor('the committed offset', async () => {
      const offsets = await client.listConsumerOffsets();
      return offsets.find((o) => o.consumerId === 'connector-http-out' && o.offset === 5);
    });
    await sink.stop();
    assert.deepEqual(received, ['a', 'flaky', 'b', 'slow', 'c']);
    assert.equal(attempts.get('flaky'), 3);
    assert.equal(attempts.get('slow'), 2);
    assert.ok(sink.stats.deadLetters === 1 && sink.stats.records === 5);

    // A restarted sink resumes after the committed offset: nothing sent twice.
    await producer.send(null, 'd');
    await producer.flush();
    const again = startConnector(
      yaml('http-out', 'http-sink', 'to-http', 'http', `  endpoint: ${server.url}/ingest\n  backoff_min: 50ms\n`),
      { endpoint: node.endpoint, stateDir: stateDirOf(node.dataDir) },
    );
    await waitFor('d delivered', () => (received.includes('d') ? true : undefined));
    await again.stop();
    assert.deepEqual(received, ['a', 'flaky', 'b', 'slow', 'c', 'd']);
    await client.close();
    await server.close();
  });
});
