// A source's resumable position, one JSON file per connector
// (`<stateDir>/<name>/checkpoint.json`), replaced atomically (write, fsync,
// rename): a crash leaves the old or the new position, never a torn file.

import path from 'node:path';
import { readJsonIfExists, writeJsonAtomic } from '../server/sc/json-file.js';
import type { Checkpoints } from './connector.js';

export function fileCheckpoints(file: string): Checkpoints {
  let writing: Promise<void> = Promise.resolve();
  return {
    async load<T>(): Promise<T | undefined> {
      await writing;
      const stored = await readJsonIfExists<{ state: T }>(file);
      return stored?.state;
    },
    save<T>(state: T): Promise<void> {
      // Saves happen in call order; a later save never lands before an earlier one.
      const next = writing.then(() => writeJsonAtomic(file, { savedAt: new Date().toISOString(), state }));
      writing = next.catch(() => {});
      return next;
    },
  };
}

/** Where a connector keeps its state (checkpoint) under a state directory. */
export function connectorStateDir(stateDir: string, name: string): string {
  return path.join(stateDir, name);
}
