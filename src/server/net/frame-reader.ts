/**
 * Splits a byte stream into length-prefixed frames (i32 length, then that many
 * bytes). Chunks are kept by reference and joined only when a frame spans
 * them, so a large produce request costs one copy at most.
 */
export class FrameTooLargeError extends Error {
  constructor(readonly length: number, readonly limit: number) {
    super(
      length < 0
        ? `negative frame length ${length}`
        : `frame of ${length} bytes exceeds the limit of ${limit} bytes`,
    );
  }
}

export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly maxFrameBytes: number) {}

  /** Bytes received but not yet returned as frames. */
  get pendingBytes(): number {
    return this.buffered;
  }

  /** Adds received bytes and returns every frame body now complete. */
  push(data: Buffer): Buffer[] {
    this.chunks.push(data);
    this.buffered += data.length;
    const frames: Buffer[] = [];
    for (;;) {
      if (this.buffered < 4) break;
      const length = this.peekLength();
      if (length < 0 || length > this.maxFrameBytes) throw new FrameTooLargeError(length, this.maxFrameBytes);
      if (this.buffered < 4 + length) break;
      frames.push(this.take(4 + length).subarray(4));
    }
    return frames;
  }

  private peekLength(): number {
    const first = this.chunks[0];
    if (first.length >= 4) return first.readInt32BE(0);
    return this.take(4, false).readInt32BE(0);
  }

  /** Removes (or with consume=false only looks at) the next n bytes. */
  private take(n: number, consume = true): Buffer {
    const first = this.chunks[0];
    if (first.length >= n) {
      if (!consume) return first;
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return out;
    }
    const joined = Buffer.concat(this.chunks, this.buffered);
    this.chunks = [joined];
    return this.take(n, consume);
  }
}
