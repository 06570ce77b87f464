// http-source ingest rate from a fast local endpoint, through the connector
// runtime into a node: polling with back-to-back requests (interval 0ms: one
// request, one record, its acknowledgement awaited, then the next request),
// and stream mode (one chunked response of newline-delimited records, split
// and stored as fast as the node acknowledges them).

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import '../src/connectors/builtins.js';
import { parseConnectorConfig } from '../src/connectors/config.js';
import { newStats, runConnector } from '../src/connectors/runtime.js';
import { removeDir, tempDir } from '../test/helpers/test-node.js';
import { throughput, type ThroughputResult } from './fluvio-client.js';

async function serve(handler: http.RequestListener): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer(handler);
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function yaml(name: string, body: string): string {
  return `apiVersion: 0.1.0\nmeta:\n  name: ${name}\n  type: http-source\n  version: 0.5.0\n  topic: ${name}\n  producer:\n    linger: 2ms\nhttp:\n${body}`;
}

async function measure(name: string, config: string, done: (records: number) => boolean, recordBytes: number, label: string): Promise<ThroughputResult> {
  const stateDir = await tempDir('freshet-bench-connector-');
  const controller = new AbortController();
  const stats = newStats();
  let started = 0;
  const run = runConnector(parseConnectorConfig(config), {
    endpoint: name,
    stateDir,
    log: pino({ level: 'silent' }),
    signal: controller.signal,
    stats,
    onRunning: () => (started = performance.now()),
  });
  let failed: unknown;
  run.catch((err: unknown) => (failed = err));
  while (!done(stats.records) && failed === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
  const seconds = (performance.now() - started) / 1000;
  const records = stats.records;
  controller.abort();
  await run.catch(() => {});
  await removeDir(stateDir);
  if (failed !== undefined) throw failed as Error;
  return throughput(label, records, recordBytes, seconds);
}

/** Polling with interval 0ms for `seconds`, 200-byte JSON bodies. */
export async function benchHttpSourcePolling(endpoint: string, seconds: number): Promise<ThroughputResult> {
  const body = JSON.stringify({ ts: 0, pad: 'x'.repeat(180) });
  const server = await serve((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  const deadline = Date.now() + seconds * 1000;
  try {
    return await measure(endpoint, yaml(`bench-http-poll-${Date.now()}`, `  endpoint: ${server.url}/quote\n  interval: 0ms\n`), () => Date.now() > deadline, body.length, `http-source polling, back-to-back requests (${body.length} B body)`);
  } finally {
    await server.close();
  }
}

/** Stream mode: one chunked response of `records` newline-delimited records of `recordBytes`. */
export async function benchHttpSourceStream(endpoint: string, records: number, recordBytes: number): Promise<ThroughputResult> {
  const line = Buffer.from(`${'y'.repeat(recordBytes - 1)}\n`);
  const perChunk = Math.max(1, Math.floor(64 * 1024 / line.length));
  const chunk = Buffer.concat(Array.from({ length: perChunk }, () => line));
  const server = await serve((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    let sent = 0;
    const pump = () => {
      while (sent < records) {
        const n = Math.min(perChunk, records - sent);
        sent += n;
        const ok = res.write(n === perChunk ? chunk : chunk.subarray(0, n * line.length));
        if (!ok) return void res.once('drain', pump);
      }
      // Keep the response open: the connector would reconnect when it ends.
    };
    pump();
  });
  try {
    return await measure(endpoint, yaml(`bench-http-stream-${Date.now()}`, `  endpoint: ${server.url}/stream\n  stream: true\n`), (n) => n >= records, recordBytes, `http-source stream mode (${recordBytes} B records)`);
  } finally {
    await server.close();
  }
}
