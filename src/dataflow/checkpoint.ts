// Checkpoints of a dataflow service: its engine state together with the
// input offsets it covers and the output offsets it had produced up to, in
// one file, `<dir>/ckpt-<seq>.json`, written atomically (common/atomic-file:
// temporary file, fsync, rename, fsync of the directory). A crash leaves the
// previous checkpoint or the new one, never a torn file; the two newest are kept.

import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { removeStaleTemporaries, writeFileAtomic } from '../common/index.js';
import type { ServiceSnapshot } from './engine.js';

export interface PartitionPosition {
  topic: string;
  partition: number;
  /** The next offset: everything below it is covered. */
  next: number;
}

export interface Checkpoint {
  format: 1;
  dataflow: string;
  service: string;
  seq: number;
  createdAt: string;
  /** What the definition looked like (a changed definition cannot resume this state). */
  fingerprint: string;
  /** Input partitions: the next offset to read. */
  inputs: PartitionPosition[];
  /** Output partitions: the log end when the checkpoint was taken (all results up to here are stored). */
  outputs: PartitionPosition[];
  state: ServiceSnapshot;
}

const FILE = /^ckpt-(\d{12})\.json$/;

export class CheckpointStore {
  constructor(readonly dir: string) {}

  private fileOf(seq: number): string {
    return path.join(this.dir, `ckpt-${String(seq).padStart(12, '0')}.json`);
  }

  private async sequences(): Promise<number[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    return names
      .map((n) => FILE.exec(n))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
  }

  /** The newest checkpoint that reads back whole (an older one if the newest cannot be parsed). */
  async latest(): Promise<Checkpoint | undefined> {
    const seqs = await this.sequences();
    for (let i = seqs.length - 1; i >= 0; i--) {
      try {
        const ckpt = JSON.parse(await readFile(this.fileOf(seqs[i]), 'utf8')) as Checkpoint;
        if (ckpt.format === 1) return ckpt;
      } catch {
        // A file that does not parse cannot be the product of our rename; try the previous one.
      }
    }
    return undefined;
  }

  /** Writes the checkpoint durably, then removes all but the two newest. Returns the bytes written. */
  write(ckpt: Checkpoint): Promise<number> {
    return this.writeText(ckpt.seq, JSON.stringify(ckpt));
  }

  /** write() for a checkpoint already serialized. */
  async writeText(seq: number, text: string): Promise<number> {
    await writeFileAtomic(this.fileOf(seq), text);
    const seqs = await this.sequences();
    for (const seq of seqs.slice(0, -2)) await rm(this.fileOf(seq), { force: true });
    await removeStaleTemporaries(this.dir, (target) => FILE.test(target));
    return Buffer.byteLength(text);
  }
}
