import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { removeDir, startTestNode, tempDir } from '../helpers/test-node.js';

/** Holds a port on 127.0.0.1 until closed. */
async function occupyPort(): Promise<{ port: number; close: () => Promise<void> }> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return { port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Resolves true when something accepts connections on the port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

test('a node whose SC port is taken fails to start and releases the data dir lock and the SPU port it had opened', async () => {
  const dataDir = await tempDir();
  const taken = await occupyPort();
  const spuPort = (await occupyPort().then(async (p) => (await p.close(), p.port)));
  try {
    await assert.rejects(startTestNode({ dataDir, scPort: taken.port, spuPort }), (err: NodeJS.ErrnoException) => err.code === 'EADDRINUSE');
    assert.equal(await listening(spuPort), false, 'the SPU listener of the failed start is closed');
    await assert.rejects(readFile(path.join(dataDir, 'freshet.lock')), { code: 'ENOENT' });
    // The same data dir and SPU port start a node at once.
    const node = await startTestNode({ dataDir, spuPort });
    try {
      assert.equal(node.spuPort, spuPort);
      assert.deepEqual(node.parts, ['data dir lock', 'partitions', 'smartmodule engine', 'spu listener', 'sc listener', 'connectors', 'dataflows', 'console']);
    } finally {
      await node.stop();
    }
  } finally {
    await taken.close();
    await removeDir(dataDir);
  }
});

test('a stopped node has closed every listener and released its lock; stop twice is one stop', async () => {
  const node = await startTestNode();
  const ports = [node.scPort, node.spuPort, Number(new URL(node.consoleUrl!).port)];
  for (const port of ports) assert.equal(await listening(port), true);
  const first = node.stop();
  assert.equal(node.stop(), first);
  await first;
  for (const port of ports) assert.equal(await listening(port), false, `port ${port} is closed`);
  await assert.rejects(readFile(path.join(node.dataDir, 'freshet.lock')), { code: 'ENOENT' });
  await removeDir(node.dataDir);
});

test('parts left out by the config are not started', async () => {
  const node = await startTestNode({ console: { enabled: false }, dataflows: { enabled: false }, connectors: { enabled: false } });
  try {
    assert.deepEqual(node.parts, ['data dir lock', 'partitions', 'smartmodule engine', 'spu listener', 'sc listener']);
    assert.equal(node.consoleUrl, undefined);
    assert.equal(node.dataflows, undefined);
    assert.equal(node.connectors, undefined);
  } finally {
    await node.stop();
    await removeDir(node.dataDir);
  }
});
