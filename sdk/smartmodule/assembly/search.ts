// Substring search over raw bytes, the way fast regex engines prefilter:
// two of the needle's rarest bytes are looked for 16 positions at a time
// (wasm SIMD), and only positions where both sit at the right distance are
// compared whole. On JSON text this skips the ubiquitous `"`,
// `:` and `,` that a first-byte scan would stop at.

// Bytes by how often they occur in JSON and English text, most frequent last:
// a byte's index here is its commonness; bytes not listed count as rare.
const COMMON = "qjzxKVBPYGFWMUCLDRHSNIOATkvbpygfwmu,cldr-h1s2n0i:o{}a t\"e";

function commonness(b: u8): i32 {
  return COMMON.indexOf(String.fromCharCode(b)) + 1;
}

export class LiteralFinder {
  readonly needle: Uint8Array;
  private at1: usize = 0;
  private at2: usize = 0;
  private byte1: u8 = 0;
  private byte2: u8 = 0;

  constructor(needle: Uint8Array) {
    this.needle = needle;
    const n = needle.length;
    let best: i32 = 0x7fffffff;
    for (let i = 0; i < n; i++) {
      const c = commonness(needle[i]);
      if (c < best) {
        best = c;
        this.at1 = <usize>i;
      }
    }
    // the second: the rarest byte with another value, else another position
    this.at2 = this.at1;
    best = 0x7fffffff;
    for (let i = 0; i < n; i++) {
      if (<usize>i == this.at1) continue;
      const c = commonness(needle[i]) + (needle[i] == needle[<i32>this.at1] ? 1000 : 0);
      if (c < best) {
        best = c;
        this.at2 = <usize>i;
      }
    }
    if (n > 0) {
      this.byte1 = needle[<i32>this.at1];
      this.byte2 = needle[<i32>this.at2];
    }
  }

  /** Index of the first occurrence in `len` bytes at `ptr`, or -1. */
  find(ptr: usize, len: usize): isize {
    const m = <usize>this.needle.length;
    if (m == 0) return 0;
    if (len < m) return -1;
    const last = len - m; // the last start position
    let i: usize = 0;
    // 64, then 32 start positions per step; the loads end at or before ptr + len
    while (i + 63 <= last) {
      const lo = this.hits32(ptr, i);
      const hi = this.hits32(ptr, i + 32);
      if ((lo | hi) != 0) {
        const found = this.verify(ptr, i, lo);
        if (found >= 0) return found;
        const later = this.verify(ptr, i + 32, hi);
        if (later >= 0) return later;
      }
      i += 64;
    }
    while (i + 31 <= last) {
      const found = this.verify(ptr, i, this.hits32(ptr, i));
      if (found >= 0) return found;
      i += 32;
    }
    if (i > last) return -1;
    // the rest: one more step over the last 32 (or 16) positions, those already seen masked off
    if (last >= 31) return this.verify(ptr, last - 31, this.hits32(ptr, last - 31) & (0xffffffff << <u32>(i - (last - 31))));
    if (last >= 15) {
      const found = this.verify(ptr, 0, this.hits16(ptr, 0));
      if (found >= 0 || last == 15) return found;
      return this.verify(ptr, last - 15, this.hits16(ptr, last - 15) & (0xffff << <u32>(16 - (last - 15))));
    }
    const b1 = this.byte1;
    const b2 = this.byte2;
    for (; i <= last; i++) {
      if (load<u8>(ptr + this.at1 + i) == b1 && load<u8>(ptr + this.at2 + i) == b2 && memory.compare(ptr + i, this.needle.dataStart, m) == 0) return <isize>i;
    }
    return -1;
  }

  /** Bit k: the two rare bytes sit where a match at `at + k` has them (k < 16). */
  // @ts-ignore: decorator
  @inline
  private hits16(ptr: usize, at: usize): u32 {
    const v1 = i8x16.splat(this.byte1);
    const v2 = i8x16.splat(this.byte2);
    return <u32>i8x16.bitmask(v128.and(i8x16.eq(v128.load(ptr + this.at1 + at), v1), i8x16.eq(v128.load(ptr + this.at2 + at), v2)));
  }

  // @ts-ignore: decorator
  @inline
  private hits32(ptr: usize, at: usize): u32 {
    return this.hits16(ptr, at) | (this.hits16(ptr, at + 16) << 16);
  }

  /** The first candidate of `hits` (bit k: position at + k) that is a whole match, or -1. */
  private verify(ptr: usize, at: usize, hits: u32): isize {
    const m = <usize>this.needle.length;
    while (hits != 0) {
      const k = <usize>ctz(hits);
      if (memory.compare(ptr + at + k, this.needle.dataStart, m) == 0) return <isize>(at + k);
      hits &= hits - 1;
    }
    return -1;
  }
}
