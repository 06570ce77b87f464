// Small files replaced whole (metadata, checkpoints, run state): each write
// goes to a temporary file of its own beside the target, is fsynced, renamed
// over the target, and the directory is fsynced. A crash leaves the old or
// the new content, never a torn file; concurrent writers never share a
// temporary file, so the last rename wins with a whole file.

import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { processAlive } from './process.js';
import { isNoSpace, spaceReserveFor } from './space-reserve.js';

/** `<target>.tmp-<pid>-<n>`; older versions wrote `<target>.tmp-<pid>`. */
const TEMPORARY = /\.tmp-(\d+)(?:-\d+)?$/;
let writes = 0;

export async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Replaces `file` with `data` atomically and durably (see above). On a full
 * disk, the space reserve of its data dir (space-reserve.ts) is given up and
 * the write tried once more.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const reserve = spaceReserveFor(file);
  try {
    await replaceFile(file, data);
  } catch (err) {
    if (!isNoSpace(err) || !reserve || !(await reserve.release())) throw err;
    await replaceFile(file, data);
    return;
  }
  await reserve?.retake();
}

async function replaceFile(file: string, data: string | Uint8Array): Promise<void> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true });
  const temporary = `${file}.tmp-${process.pid}-${++writes}`;
  try {
    const handle = await open(temporary, 'wx');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
  } catch (err) {
    await rm(temporary, { force: true }).catch(() => {});
    throw err;
  }
  await fsyncDirectory(dir);
}

/** writeFileAtomic of the value as indented JSON. */
export function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  return writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
}

/** The parsed file, or undefined when it does not exist. Throws on any other failure (unreadable, not JSON). */
export async function readJsonIfExists<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Removes the temporary files in `dir` that writers killed mid-write left
 * behind (their process is gone); `of` narrows it to some targets' files.
 * Returns how many were removed.
 */
export async function removeStaleTemporaries(dir: string, of: (target: string) => boolean = () => true): Promise<number> {
  let removed = 0;
  for (const name of await readdir(dir)) {
    const match = TEMPORARY.exec(name);
    if (!match || !of(name.slice(0, match.index))) continue;
    const pid = Number(match[1]);
    if (pid === process.pid || processAlive(pid)) continue;
    await rm(path.join(dir, name), { force: true });
    removed++;
  }
  return removed;
}
