import { startChildNode } from '../test/helpers/child-node.js';
import { removeDir, tempDir } from '../test/helpers/test-node.js';

/** Runs `work` against a node started as its own process with a fresh data dir (and `args`), then stops it. */
export async function withChildNode<T>(work: (endpoint: string) => Promise<T>, args: readonly string[] = []): Promise<T> {
  const dataDir = await tempDir('freshet-bench-');
  const node = await startChildNode(dataDir, args);
  try {
    return await work(node.endpoint);
  } finally {
    node.process.kill('SIGTERM');
    await node.exited;
    await removeDir(dataDir);
  }
}
