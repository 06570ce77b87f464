import path from 'node:path';
import { acquirePidLock, pidLockOwner } from '../common/index.js';

export interface DataDirLock {
  release(): Promise<void>;
}

export const LOCK_FILE = 'freshet.lock';

/** The pid of the live process holding the data dir's lock, if there is one. */
export function dataDirLockOwner(dataDir: string): Promise<number | undefined> {
  return pidLockOwner(path.join(dataDir, LOCK_FILE));
}

/**
 * One node per data dir: two processes appending to the same segments would
 * corrupt them. A lock left by a killed process (its pid is gone) is taken over.
 */
export async function acquireDataDirLock(dataDir: string): Promise<DataDirLock> {
  const release = await acquirePidLock(
    path.join(dataDir, LOCK_FILE),
    (owner) => `data dir ${dataDir} is in use by another freshet node (pid ${owner}); stop it first or pass --data-dir`,
  );
  return { release };
}
