import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { defaultNodeConfig, startNode, type NodeConfig, type RunningNode } from '../../src/node/index.js';

export async function tempDir(prefix = 'freshet-test-'): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

/** A node on 127.0.0.1 with free ports and a fresh (or given) data dir, logging only errors. */
export async function startTestNode(overrides: Partial<NodeConfig> = {}): Promise<RunningNode & { dataDir: string }> {
  const dataDir = overrides.dataDir ?? (await tempDir());
  const node = await startNode(
    defaultNodeConfig({
      host: '127.0.0.1',
      scPort: 0,
      spuPort: 0,
      logger: pino({ level: process.env.FRESHET_TEST_LOG ?? 'error' }),
      ...overrides,
      dataDir,
    }),
  );
  return Object.assign(node, { dataDir });
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Stops a node from `startTestNode` and removes its data dir. */
export async function stopTestNode(node: RunningNode & { dataDir: string }): Promise<void> {
  await node.stop();
  await removeDir(node.dataDir);
}

/** Creates a topic straight in the node's registry: one replica, any compression, created now. */
export async function createTopic(node: RunningNode, name: string, partitions = 1): Promise<void> {
  await node.topics.create({
    name,
    partitions,
    replicationFactor: 1,
    ignoreRackAssignment: false,
    compression: 'any',
    createdAt: new Date().toISOString(),
  });
}
