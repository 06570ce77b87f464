import { open, readFile, rm } from 'node:fs/promises';
import path from 'node:path';

export interface DataDirLock {
  release(): Promise<void>;
}

export const LOCK_FILE = 'freshet.lock';

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid of the live process holding the data dir's lock, if there is one. */
export async function dataDirLockOwner(dataDir: string): Promise<number | undefined> {
  const owner = Number((await readFile(path.join(dataDir, LOCK_FILE), 'utf8').catch(() => '')).trim());
  return Number.isInteger(owner) && owner > 0 && processAlive(owner) ? owner : undefined;
}

/**
 * One node per data dir: two processes appending to the same segments would
 * corrupt them. A lock left by a killed process (its pid is gone) is taken over.
 */
export async function acquireDataDirLock(dataDir: string): Promise<DataDirLock> {
  const file = path.join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return { release: () => rm(file, { force: true }) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && processAlive(owner)) {
        throw new Error(`data dir ${dataDir} is in use by another freshet node (pid ${owner}); stop it first or pass --data-dir`, {
          cause: err,
        });
      }
      await rm(file, { force: true });
    }
  }
  throw new Error(`cannot lock data dir ${dataDir}`);
}
