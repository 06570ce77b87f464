// A lock file holding the pid of its owner: one process per data dir or
// state dir. A lock left by a process that is gone (killed, crashed) is
// taken over; so is one carrying our own pid (a previous life of this pid).

import { mkdir, open, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { processAlive } from './process.js';

async function recordedOwner(file: string): Promise<number | undefined> {
  const owner = Number((await readFile(file, 'utf8').catch(() => '')).trim());
  return Number.isInteger(owner) && owner > 0 ? owner : undefined;
}

/** The pid of the live process holding the lock, if there is one. */
export async function pidLockOwner(file: string): Promise<number | undefined> {
  const owner = await recordedOwner(file);
  return owner !== undefined && processAlive(owner) ? owner : undefined;
}

/** Takes the lock; returns what releases it. Throws `inUse(pid)` when another live process holds it. */
export async function acquirePidLock(file: string, inUse: (pid: number) => string): Promise<() => Promise<void>> {
  await mkdir(path.dirname(file), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, 'wx');
      try {
        await handle.writeFile(String(process.pid));
      } finally {
        await handle.close();
      }
      return () => rm(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = await recordedOwner(file);
      if (owner !== undefined && owner !== process.pid && processAlive(owner)) throw new Error(inUse(owner), { cause: err });
      await rm(file, { force: true });
    }
  }
  throw new Error(`cannot lock ${file}: it keeps being taken`);
}
