// The embedded default (local disk, no --nats) must not load the NATS client:
// node.ts imports the JetStream backend only when the config names NATS URLs.
// The NATS packages are CommonJS, so whatever loads them shows in require.cache.

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { startTestNode, stopTestNode } from '../../helpers/test-node.js';

const require = createRequire(import.meta.url);

function natsModulesLoaded(): string[] {
  return Object.keys(require.cache).filter((file) => file.includes('@nats-io'));
}

test('a node on local disk starts and stops without loading any @nats-io module', async () => {
  assert.ok(require.resolve('@nats-io/transport-node').includes('@nats-io'), 'the NATS client is installed, so its absence below means something');
  const node = await startTestNode();
  try {
    await node.topics.create({ name: 'local', partitions: 1, replicationFactor: 1, ignoreRackAssignment: false, compression: 'any', createdAt: new Date().toISOString() });
    assert.deepEqual(natsModulesLoaded(), []);
  } finally {
    await stopTestNode(node);
  }
  assert.deepEqual(natsModulesLoaded(), []);
  // The check itself can fail: loading the client shows up.
  require('@nats-io/transport-node');
  assert.ok(natsModulesLoaded().length > 0);
});
