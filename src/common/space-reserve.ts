// Room kept for metadata on a disk that fills up. Records and metadata share
// a data dir's disk: when appends fill it, the metadata write that deleting a
// topic needs (to free space) would fail with ENOSPC too. A reserve file
// holds some space while there is plenty; a metadata write that finds the
// disk full gives it up and tries again, and the reserve is taken back once
// a later write finds room.

import { open, rm, stat } from 'node:fs/promises';
import path from 'node:path';

export const DEFAULT_SPACE_RESERVE_BYTES = 4 * 1024 * 1024;
/** How often a released reserve is tried again (each try writes its whole size). */
const RETAKE_INTERVAL_MS = 5_000;

export function isNoSpace(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

export class SpaceReserve {
  private lastTry = 0;
  held = false;

  constructor(
    readonly file: string,
    readonly bytes = DEFAULT_SPACE_RESERVE_BYTES,
    private readonly now: () => number = Date.now,
  ) {}

  /** Makes sure the reserve file is there, whole; false when the disk has no room for it. */
  async take(): Promise<boolean> {
    this.lastTry = this.now();
    const existing = await stat(this.file).catch(() => undefined);
    if (existing?.size === this.bytes) return (this.held = true);
    try {
      const handle = await open(this.file, 'w');
      try {
        const chunk = Buffer.alloc(Math.min(this.bytes, 1024 * 1024));
        for (let written = 0; written < this.bytes; written += chunk.length) await handle.write(chunk, 0, Math.min(chunk.length, this.bytes - written));
        await handle.sync();
      } finally {
        await handle.close();
      }
      return (this.held = true);
    } catch (err) {
      await rm(this.file, { force: true });
      if (isNoSpace(err)) return (this.held = false);
      throw err;
    }
  }

  /** Takes the reserve back if it was given up and the last try is a while ago (errors ignored: it is only a reserve). */
  async retake(): Promise<void> {
    if (this.held || this.now() - this.lastTry < RETAKE_INTERVAL_MS) return;
    await this.take().catch(() => {});
  }

  /** Gives the space up; false when there was none to give. */
  async release(): Promise<boolean> {
    const had = (await stat(this.file).catch(() => undefined)) !== undefined;
    await rm(this.file, { force: true });
    this.held = false;
    this.lastTry = this.now();
    return had;
  }
}

const reserves = new Map<string, SpaceReserve>();

/** Makes `reserve` the one for writes under `dir`; returns the undo. */
export function registerSpaceReserve(dir: string, reserve: SpaceReserve): () => void {
  const key = path.resolve(dir);
  reserves.set(key, reserve);
  return () => {
    if (reserves.get(key) === reserve) reserves.delete(key);
  };
}

/** The reserve registered for the nearest directory above `file`. */
export function spaceReserveFor(file: string): SpaceReserve | undefined {
  let dir = path.dirname(path.resolve(file));
  for (;;) {
    const reserve = reserves.get(dir);
    if (reserve) return reserve;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}
