/**
 * The few file operations storage performs, with injection points for tests
 * (fault injection, fsync counting) and counters.
 */
import fs, { type FileHandle } from 'node:fs/promises';

export interface WriteContext {
  path: string;
  position: number;
  bytes: number;
}

/**
 * Every operation by which storage changes what is on disk. `beforeMutation`
 * sees each of them, so a test can fail (or "crash") any one.
 */
export type StorageMutation =
  /** log bytes, one writev of a write group */
  | { kind: 'write'; path: string; position: number; bytes: number }
  /** a small whole file (segment index, time index), replaced in place */
  | { kind: 'write-file'; path: string; bytes: number }
  | { kind: 'fsync'; path: string }
  | { kind: 'truncate'; path: string; length: number }
  | { kind: 'unlink'; path: string }
  /** a new, empty segment log file */
  | { kind: 'create'; path: string }
  | { kind: 'mkdir'; path: string }
  /** the partition directory with everything in it (delete()) */
  | { kind: 'remove-dir'; path: string };

/**
 * Test and instrumentation hooks. Each may be async. Throwing from a hook
 * makes the operation fail with that error, exactly as if the OS had failed.
 */
export interface StorageHooks {
  /**
   * Before each write of log bytes. Return a number n (0 <= n < bytes) to
   * simulate a device that accepts only the first n bytes and then fails with
   * ENOSPC (a torn write).
   */
  beforeWrite?(ctx: WriteContext): void | number | Promise<void | number>;
  /** Before each fsync (log, index or directory). */
  beforeFsync?(path: string): void | Promise<void>;
  /** Before each positioned read of a log file. */
  beforeRead?(path: string, position: number, length: number): void | Promise<void>;
  /**
   * Before every mutation of the disk (including the writes and fsyncs the
   * hooks above see; this one runs first).
   */
  beforeMutation?(op: StorageMutation): void | Promise<void>;
}

export interface StorageStats {
  /** append() calls accepted */
  appends: number;
  /** write groups committed (each group = one write per touched segment + one fsync under 'always') */
  groups: number;
  /** writev calls on log files */
  writes: number;
  /** fsync calls (log, index and directory files) */
  fsyncs: number;
  /** positioned reads of log files */
  reads: number;
  /** segments removed by retention */
  segmentsDeleted: number;
}

export function newStats(): StorageStats {
  return { appends: 0, groups: 0, writes: 0, fsyncs: 0, reads: 0, segmentsDeleted: 0 };
}

export function errnoError(code: string, message: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`${code}: ${message}`);
  err.code = code;
  return err;
}

export function isErrno(err: unknown, ...codes: string[]): boolean {
  return (
    typeof err === 'object' &&
    err !== null &&
    typeof (err as NodeJS.ErrnoException).code === 'string' &&
    codes.includes((err as NodeJS.ErrnoException).code as string)
  );
}

/** The disk or the user's quota is full. */
export function isNoSpace(err: unknown): boolean {
  return isErrno(err, 'ENOSPC', 'EDQUOT');
}

export const OFFSET_DIGITS = 20;

/** `00000000000000000042` — Kafka/Fluvio segment naming by base offset. */
export function segmentFileStem(baseOffset: number): string {
  return String(baseOffset).padStart(OFFSET_DIGITS, '0');
}

/** Parses `<20 digits>.<ext>`; undefined when the name does not match. */
export function parseSegmentFileName(name: string): { baseOffset: number; ext: string } | undefined {
  const m = /^(\d{20})\.([a-z.]+)$/.exec(name);
  if (m === null) return undefined;
  const baseOffset = Number(m[1]);
  if (!Number.isSafeInteger(baseOffset)) return undefined;
  return { baseOffset, ext: m[2] };
}

export class StorageIo {
  constructor(
    private readonly hooks: StorageHooks,
    readonly stats: StorageStats,
  ) {}

  /** Writes all buffers contiguously at `position` with one writev (looping only on short writes). */
  async writev(fh: FileHandle, filePath: string, buffers: Buffer[], position: number, bytes: number): Promise<void> {
    this.stats.writes++;
    await this.hooks.beforeMutation?.({ kind: 'write', path: filePath, position, bytes });
    if (this.hooks.beforeWrite !== undefined) {
      const accepted = await this.hooks.beforeWrite({ path: filePath, position, bytes });
      if (typeof accepted === 'number') {
        await writeAll(fh, concatPrefix(buffers, accepted), position);
        throw errnoError('ENOSPC', `no space left on device (injected after ${accepted} bytes) ${filePath}`);
      }
    }
    const written = (await fh.writev(buffers, position)).bytesWritten;
    if (written === bytes) return;
    // Short write: finish the rest (rare; libuv usually loops for us).
    await writeAll(fh, Buffer.concat(buffers).subarray(written), position + written);
  }

  async fsync(fh: FileHandle, filePath: string): Promise<void> {
    this.stats.fsyncs++;
    await this.hooks.beforeMutation?.({ kind: 'fsync', path: filePath });
    if (this.hooks.beforeFsync !== undefined) await this.hooks.beforeFsync(filePath);
    await fh.sync();
  }

  async fsyncDir(dir: string): Promise<void> {
    const fh = await fs.open(dir, 'r');
    try {
      await this.fsync(fh, dir);
    } finally {
      await fh.close();
    }
  }

  /** Reads exactly `length` bytes at `position` (fails with EIO-like error on EOF). */
  async readExactly(fh: FileHandle, filePath: string, position: number, length: number): Promise<Buffer> {
    this.stats.reads++;
    if (this.hooks.beforeRead !== undefined) await this.hooks.beforeRead(filePath, position, length);
    const buf = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await fh.read(buf, done, length - done, position + done);
      if (bytesRead === 0) {
        throw errnoError('EOF', `unexpected end of file ${filePath} at ${position + done} (wanted ${length} bytes at ${position})`);
      }
      done += bytesRead;
    }
    return buf;
  }

  /** Writes a small whole file (index files), fsyncing when asked. */
  async writeFile(filePath: string, data: Buffer, sync: boolean): Promise<void> {
    await this.hooks.beforeMutation?.({ kind: 'write-file', path: filePath, bytes: data.length });
    const fh = await fs.open(filePath, 'w');
    try {
      await writeAll(fh, data, 0);
      if (sync) await this.fsync(fh, filePath);
    } finally {
      await fh.close();
    }
  }

  /** Creates (or empties) a log file, open for reading and writing. */
  async createFile(filePath: string): Promise<FileHandle> {
    await this.hooks.beforeMutation?.({ kind: 'create', path: filePath });
    return fs.open(filePath, 'w+');
  }

  async truncate(fh: FileHandle, filePath: string, length: number): Promise<void> {
    await this.hooks.beforeMutation?.({ kind: 'truncate', path: filePath, length });
    await fh.truncate(length);
  }

  async unlinkIfExists(filePath: string): Promise<void> {
    await this.hooks.beforeMutation?.({ kind: 'unlink', path: filePath });
    try {
      await fs.unlink(filePath);
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
    }
  }

  async mkdir(dir: string): Promise<void> {
    await this.hooks.beforeMutation?.({ kind: 'mkdir', path: dir });
    await fs.mkdir(dir, { recursive: true });
  }

  async removeDir(dir: string): Promise<void> {
    await this.hooks.beforeMutation?.({ kind: 'remove-dir', path: dir });
    await fs.rm(dir, { recursive: true, force: true });
  }
}

async function writeAll(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesWritten } = await fh.write(buf, done, buf.length - done, position + done);
    done += bytesWritten;
  }
}

function concatPrefix(buffers: Buffer[], bytes: number): Buffer {
  return Buffer.concat(buffers).subarray(0, bytes);
}
