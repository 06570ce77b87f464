// A source's resumable position, one JSON file per connector
// (`<stateDir>/<name>/checkpoint.json`), replaced atomically (write, fsync,
// rename): a crash leaves the old or the new position, never a torn file.

import path from 'node:path';
import { readJsonIfExists, SerialQueue, writeJsonAtomic } from '../common/index.js';
import type { Checkpoints } from './connector.js';

export function fileCheckpoints(file: string): Checkpoints {
  // Saves happen in call order; a later save never lands before an earlier one.
  const writes = new SerialQueue();
  return {
    async load<T>(): Promise<T | undefined> {
      await writes.idle();
      const stored = await readJsonIfExists<{ state: T }>(file);
      return stored?.state;
    },
    save<T>(state: T): Promise<void> {
      return writes.run(() => writeJsonAtomic(file, { savedAt: new Date().toISOString(), state }));
    },
  };
}

/** Where a connector keeps its state (checkpoint) under a state directory. */
export function connectorStateDir(stateDir: string, name: string): string {
  return path.join(stateDir, name);
}
