/**
 * Sparse offset index of one segment.
 *
 * File format (`<base>.index`, same entry shape as Fluvio's): a flat array of
 * 8-byte entries, each (relative offset u32 BE, file position u32 BE). Our
 * entries name the batch *starting* at that position: relative offset =
 * base_offset of that batch - segment base offset. An entry is added for the
 * first batch that starts at least `indexIntervalBytes` after the previous
 * entry (position 0 is an implicit entry), so the policy is deterministic and
 * a rebuild from the log yields the same entries.
 *
 * Both columns are strictly increasing.
 */
import assert from 'node:assert/strict';

export const INDEX_ENTRY_SIZE = 8;

export interface IndexEntry {
  relOffset: number;
  position: number;
}

export class SparseIndex {
  /** Interleaved [rel0, pos0, rel1, pos1, ...]. */
  private data: Uint32Array;
  private count = 0;

  constructor(capacityEntries = 64) {
    this.data = new Uint32Array(Math.max(2, capacityEntries * 2));
  }

  get length(): number {
    return this.count;
  }

  relOffsetAt(i: number): number {
    assert.ok(i >= 0 && i < this.count);
    return this.data[i * 2];
  }

  positionAt(i: number): number {
    assert.ok(i >= 0 && i < this.count);
    return this.data[i * 2 + 1];
  }

  lastPosition(): number {
    return this.count === 0 ? 0 : this.data[this.count * 2 - 1];
  }

  push(relOffset: number, position: number): void {
    assert.ok(relOffset >= 0 && relOffset <= 0xffff_ffff, 'relative offset fits u32');
    assert.ok(position > 0 && position <= 0xffff_ffff, 'position fits u32 and is past the implicit 0 entry');
    if (this.count > 0) {
      assert.ok(relOffset > this.data[this.count * 2 - 2], 'index relative offsets increase');
      assert.ok(position > this.data[this.count * 2 - 1], 'index positions increase');
    }
    if (this.count * 2 + 2 > this.data.length) {
      const grown = new Uint32Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.count * 2] = relOffset;
    this.data[this.count * 2 + 1] = position;
    this.count++;
  }

  /** Drops entries past the first `length` (used when an append is rolled back). */
  truncate(length: number): void {
    assert.ok(length >= 0 && length <= this.count);
    this.count = length;
  }

  /**
   * The last entry whose relative offset is <= relOffset; the implicit entry
   * (0, 0) when there is none.
   */
  lookup(relOffset: number): IndexEntry {
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.data[mid * 2] <= relOffset) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (found < 0) return { relOffset: 0, position: 0 };
    return { relOffset: this.data[found * 2], position: this.data[found * 2 + 1] };
  }

  toBuffer(): Buffer {
    const buf = Buffer.allocUnsafe(this.count * INDEX_ENTRY_SIZE);
    for (let i = 0; i < this.count; i++) {
      buf.writeUInt32BE(this.data[i * 2], i * INDEX_ENTRY_SIZE);
      buf.writeUInt32BE(this.data[i * 2 + 1], i * INDEX_ENTRY_SIZE + 4);
    }
    return buf;
  }

  equalsBuffer(buf: Buffer): boolean {
    if (buf.length !== this.count * INDEX_ENTRY_SIZE) return false;
    for (let i = 0; i < this.count; i++) {
      if (buf.readUInt32BE(i * INDEX_ENTRY_SIZE) !== this.data[i * 2]) return false;
      if (buf.readUInt32BE(i * INDEX_ENTRY_SIZE + 4) !== this.data[i * 2 + 1]) return false;
    }
    return true;
  }

  /**
   * Parses an index file. Returns undefined when it is structurally invalid
   * for a segment of `logSize` bytes holding relative offsets < `maxRelOffset`
   * (not a multiple of 8, not increasing, pointing past the end).
   */
  static fromBuffer(buf: Buffer, logSize: number, maxRelOffset: number): SparseIndex | undefined {
    if (buf.length % INDEX_ENTRY_SIZE !== 0) return undefined;
    const n = buf.length / INDEX_ENTRY_SIZE;
    const index = new SparseIndex(n);
    let prevRel = -1;
    let prevPos = 0;
    for (let i = 0; i < n; i++) {
      const rel = buf.readUInt32BE(i * INDEX_ENTRY_SIZE);
      const pos = buf.readUInt32BE(i * INDEX_ENTRY_SIZE + 4);
      if (rel <= prevRel || pos <= prevPos || pos >= logSize || rel >= maxRelOffset) return undefined;
      index.data[i * 2] = rel;
      index.data[i * 2 + 1] = pos;
      prevRel = rel;
      prevPos = pos;
    }
    index.count = n;
    return index;
  }
}

/**
 * Tracks the deterministic sparse-index policy while batches are appended or
 * scanned in order: call `observe` for each batch start.
 */
export class IndexBuilder {
  constructor(
    readonly index: SparseIndex,
    private readonly intervalBytes: number,
  ) {}

  observe(relOffset: number, position: number): void {
    if (position === 0) return;
    if (position - this.index.lastPosition() >= this.intervalBytes) {
      this.index.push(relOffset, position);
    }
  }
}
