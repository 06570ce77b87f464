import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import pino from 'pino';
import { startTestNode, stopTestNode } from '../helpers/test-node.js';
import { startKafkaListener } from '../../src/server/kafka/index.js';

test('a taken Kafka port: the default falls back to a free port, an explicit one fails', async () => {
  const node = await startTestNode({ console: { enabled: false }, dataflows: { enabled: false }, kafka: { enabled: false } });
  const holder = net.createServer();
  await new Promise<void>((resolve) => holder.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const taken = (holder.address() as net.AddressInfo).port;
  const config = { host: '127.0.0.1', port: taken, nodeId: 1, dataDir: node.dataDir, replicas: node.replicas, topics: node.topics, limits: node.config.limits, log: pino({ level: 'silent' }) };
  try {
    await assert.rejects(startKafkaListener(config), (err: NodeJS.ErrnoException) => err.code === 'EADDRINUSE');
    const listener = await startKafkaListener({ ...config, fallbackToFreePort: true });
    assert.notEqual(listener.port, taken);
    await listener.close();
  } finally {
    await new Promise((resolve) => holder.close(resolve));
    await stopTestNode(node);
  }
});
