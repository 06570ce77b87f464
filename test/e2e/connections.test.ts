// Many connections at once against one node (in this process): raw protocol
// producers and tailing consumers and Freshet clients, mixed, 1,000
// connections served together. What is checked is what the node's gauges say
// (connections, open stream fetches, response bytes queued in user space) and
// that every record reaches every consumer of its partition; nothing timed.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as p from '../../src/protocol/index.js';
import { DEFAULT_LIMITS } from '../../src/server/limits.js';
import { Freshet, type Consumer } from '../../src/client/index.js';
import { createTopic, startTestNode, stopTestNode } from '../helpers/test-node.js';
import { RawClient, apiVersions, produceValues, recordsOf, streamFetch, updateOffsets } from '../helpers/raw-client.js';

const CONNECTIONS = 1000;
const PARTITIONS = 5;
/** Freshet clients: each holds an SC connection, its producer's SPU connection and its consumer's. */
const CLIENTS = 50;
const RAW_CONSUMERS = (CONNECTIONS - 3 * CLIENTS) / 2;
const RAW_PRODUCERS = RAW_CONSUMERS;
const MAX_QUEUED = 64 * 1024;
/** The SPU listener's share: every connection but the clients' SC ones (the limit is per listener). */
const SPU_CONNECTIONS = CONNECTIONS - CLIENTS;

let node: Awaited<ReturnType<typeof startTestNode>>;

before(async () => {
  // Two ends of every connection live in this process: twice the descriptors, plus the node's files.
  // (Node raises its soft limit to the hard one at start; nothing more can be done from here.)
  const limit = Number(/^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1] ?? Infinity);
  assert.ok(limit >= 2 * CONNECTIONS + 200, `open files limit ${limit} is too low for ${CONNECTIONS} connections in one process: raise the hard limit (ulimit -Hn)`);
  node = await startTestNode({
    limits: { ...DEFAULT_LIMITS, maxConnections: SPU_CONNECTIONS, maxQueuedResponseBytes: MAX_QUEUED },
    storage: { flush: { kind: 'os' } },
  });
  await createTopic(node, 'crowd', PARTITIONS);
});

after(() => stopTestNode(node));

async function waitFor(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(node.stats())}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Connects `count` raw clients, a few at a time (the accept backlog is finite). */
async function connectMany(count: number, port: number): Promise<RawClient[]> {
  const clients: RawClient[] = [];
  for (let i = 0; i < count; i += 50) {
    clients.push(...(await Promise.all(Array.from({ length: Math.min(50, count - i) }, () => RawClient.connect(port)))));
  }
  return clients;
}

test(`${CONNECTIONS} connections at once: tailing consumers and producers, raw and through the client, all served; queued bytes stay within the limit`, async () => {
  // Tailing consumers first: raw stream fetches from offset 0, one partition each.
  const rawConsumers = await connectMany(RAW_CONSUMERS, node.spuPort);
  const rawReceived = rawConsumers.map(() => 0);
  rawConsumers.forEach((client, i) => {
    streamFetch(client, 'crowd', i % PARTITIONS, 0, (response) => {
      assert.equal(response.partition.errorCode.code, p.ErrorCode.None);
      const records = recordsOf(response);
      if (records.length === 0) return;
      rawReceived[i] += records.length;
      // As Fluvio's consumer does: say how far it read, so the stream sends what follows.
      void updateOffsets(client, response.streamId, records[records.length - 1].offset + 1);
    });
  });
  // Freshet clients, each a tailing consumer of every partition and a producer.
  const clients = await Promise.all(Array.from({ length: CLIENTS }, () => Freshet.connect({ endpoint: node.endpoint })));
  const consumers: Consumer[] = await Promise.all(clients.map((client) => client.consumer('crowd', { offset: 'beginning' })));
  const clientReceived = consumers.map(() => 0);
  const reading = consumers.map(async (consumer, i) => {
    for await (const _record of consumer) clientReceived[i]++;
  });
  const producers = await Promise.all(clients.map((client) => client.producer('crowd')));
  await waitFor(() => node.stats().streamFetches === RAW_CONSUMERS + CLIENTS * PARTITIONS, 'every stream fetch to be open');

  // Raw producers connect and handshake before any of them sends: all the connections are open at once.
  const rawProducers = await connectMany(RAW_PRODUCERS, node.spuPort);
  await Promise.all(rawProducers.map((client) => apiVersions(client)));
  // The producers' SPU connections open with their first send: send one record each now.
  const clientOffsets = await Promise.all(producers.map((producer, i) => producer.send(null, `client-${i}`, { partition: i % PARTITIONS })));
  assert.equal(clientOffsets.length, CLIENTS);
  const open = node.stats();
  assert.equal(open.scConnections + open.spuConnections, CONNECTIONS, `all connections open at once: ${JSON.stringify(open)}`);
  assert.equal(open.scConnections, CLIENTS);

  // Every raw producer sends a record while everything is open.
  let peakQueued = 0;
  const sampler = setInterval(() => (peakQueued = Math.max(peakQueued, node.stats().queuedResponseBytes)), 5);
  const produced = await Promise.all(rawProducers.map((client, i) => produceValues(client, 'crowd', i % PARTITIONS, [`raw-${i}-${'x'.repeat(100)}`])));
  for (const answer of produced) assert.equal(answer.errorCode.code, p.ErrorCode.None);

  const total = RAW_PRODUCERS + CLIENTS;
  const perPartition = Array.from({ length: PARTITIONS }, (_, partition) => node.replicas.get('crowd', partition)!.highWatermark());
  assert.equal(perPartition.reduce((a, b) => a + b, 0), total, 'every record stored once');
  await waitFor(() => rawReceived.every((count, i) => count === perPartition[i % PARTITIONS]), 'every raw consumer to have its partition');
  await waitFor(() => clientReceived.every((count) => count === total), 'every client consumer to have every record');
  clearInterval(sampler);
  // A connection that streams never holds more than the limit (plus the frame that crossed it) in user space.
  const streaming = RAW_CONSUMERS + CLIENTS;
  assert.ok(peakQueued <= streaming * (MAX_QUEUED + 64 * 1024), `queued response bytes peaked at ${peakQueued}`);
  assert.equal(node.stats().scConnections + node.stats().spuConnections, CONNECTIONS, 'nobody was dropped');

  // Beyond maxConnections the SPU listener refuses at accept time, and the others are still served.
  assert.equal(node.stats().spuConnections, SPU_CONNECTIONS);
  const extra = await RawClient.connect(node.spuPort);
  assert.ok(await extra.closedWithin(5_000), 'one SPU connection more than maxConnections is closed by the node');
  const again = await produceValues(rawProducers[0], 'crowd', 0, ['after the refusal']);
  assert.equal(again.errorCode.code, p.ErrorCode.None);

  await Promise.all([...rawConsumers, ...rawProducers].map((client) => client.close()));
  await Promise.all(clients.map((client) => client.close()));
  await Promise.all(reading);
  await waitFor(() => {
    const stats = node.stats();
    return stats.scConnections === 0 && stats.spuConnections === 0 && stats.streamFetches === 0 && stats.queuedResponseBytes === 0;
  }, 'every connection and stream to be released');
});
