/**
 * A partition's index from record offset to JetStream stream sequence. One
 * stream message holds one record batch, and a stream's sequences are
 * contiguous (retention only removes from the front), so the index is two
 * arrays addressed by `seq - firstSeq`: each batch's base offset (sorted,
 * searched by bisection) and its stored size. 12 bytes per batch.
 */
export interface IndexedBatch {
  seq: number;
  baseOffset: number;
  /** Offset after the batch's last record. */
  nextOffset: number;
  size: number;
}

const INITIAL_CAPACITY = 1024;

export class SeqIndex {
  private baseOffsets = new Float64Array(INITIAL_CAPACITY);
  private sizes = new Uint32Array(INITIAL_CAPACITY);
  /** Array slot of `firstSeq`; slots before it were trimmed and are reused on growth. */
  private head = 0;
  private count = 0;
  private firstSeqValue = 1;
  private endOffset = 0;
  private bytes = 0;

  /** Sequence of the oldest indexed batch (or of the next one when empty). */
  get firstSeq(): number {
    return this.firstSeqValue;
  }

  /** Sequence of the newest indexed batch; firstSeq - 1 when empty. */
  get lastSeq(): number {
    return this.firstSeqValue + this.count - 1;
  }

  get size(): number {
    return this.count;
  }

  /** Offset of the first indexed record; the end offset when empty. */
  get startOffset(): number {
    return this.count === 0 ? this.endOffset : this.baseOffsets[this.head]!;
  }

  /** Offset the next batch will get (the high watermark). */
  get nextOffset(): number {
    return this.endOffset;
  }

  get totalBytes(): number {
    return this.bytes;
  }

  /** Starts an empty index whose next batch is `seq` at `offset` (a stream whose older messages are gone). */
  reset(seq: number, offset: number): void {
    this.head = 0;
    this.count = 0;
    this.firstSeqValue = seq;
    this.endOffset = offset;
    this.bytes = 0;
  }

  /** Appends the batch stored at the next sequence. */
  push(batch: IndexedBatch): void {
    if (batch.seq !== this.lastSeq + 1) throw new Error(`index gap: batch at seq ${batch.seq} after seq ${this.lastSeq}`);
    if (this.count > 0 && batch.baseOffset !== this.endOffset) {
      throw new Error(`index offsets out of order: batch at seq ${batch.seq} starts at ${batch.baseOffset}, expected ${this.endOffset}`);
    }
    if (batch.nextOffset <= batch.baseOffset) throw new Error(`empty batch at seq ${batch.seq}`);
    if (this.head + this.count === this.baseOffsets.length) this.grow();
    this.baseOffsets[this.head + this.count] = batch.baseOffset;
    this.sizes[this.head + this.count] = batch.size;
    this.count++;
    this.endOffset = batch.nextOffset;
    this.bytes += batch.size;
  }

  /** Drops batches before `seq` (removed by the stream's retention limits). */
  trimBefore(seq: number): void {
    const drop = Math.min(Math.max(0, seq - this.firstSeqValue), this.count);
    for (let i = 0; i < drop; i++) this.bytes -= this.sizes[this.head + i]!;
    this.head += drop;
    this.count -= drop;
    this.firstSeqValue += drop;
    if (this.count === 0) this.head = 0;
  }

  /** The indexed batch holding `offset`, or undefined when the offset is not indexed. */
  find(offset: number): IndexedBatch | undefined {
    if (this.count === 0 || offset < this.startOffset || offset >= this.endOffset) return undefined;
    let low = 0;
    let high = this.count - 1;
    while (low < high) {
      const mid = (low + high + 1) >>> 1;
      if (this.baseOffsets[this.head + mid]! <= offset) low = mid;
      else high = mid - 1;
    }
    return this.at(this.firstSeqValue + low);
  }

  /** The batch at `seq`; undefined outside the index. */
  at(seq: number): IndexedBatch | undefined {
    const i = seq - this.firstSeqValue;
    if (i < 0 || i >= this.count) return undefined;
    const slot = this.head + i;
    const nextOffset = i + 1 < this.count ? this.baseOffsets[slot + 1]! : this.endOffset;
    return { seq, baseOffset: this.baseOffsets[slot]!, nextOffset, size: this.sizes[slot]! };
  }

  private grow(): void {
    const capacity = this.count * 2 > this.baseOffsets.length ? this.baseOffsets.length * 2 : this.baseOffsets.length;
    const offsets = new Float64Array(capacity);
    const sizes = new Uint32Array(capacity);
    offsets.set(this.baseOffsets.subarray(this.head, this.head + this.count));
    sizes.set(this.sizes.subarray(this.head, this.head + this.count));
    this.baseOffsets = offsets;
    this.sizes = sizes;
    this.head = 0;
  }
}
