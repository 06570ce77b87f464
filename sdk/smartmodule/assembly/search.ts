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
    const needle = this.needle.dataStart;
    const last = len - m; // the last start position
    const p1 = ptr + this.at1;
    const p2 = ptr + this.at2;
    const b1 = <u8>this.byte1;
    const b2 = <u8>this.byte2;
    const v1 = i8x16.splat(b1);
    const v2 = i8x16.splat(b2);
    let i: usize = 0;
    // 32 start positions per step, 16 bytes compared at once; the loads end at or before ptr + len
    while (i + 31 <= last) {
      const lo = v128.and(i8x16.eq(v128.load(p1 + i), v1), i8x16.eq(v128.load(p2 + i), v2));
      const hi = v128.and(i8x16.eq(v128.load(p1 + i + 16), v1), i8x16.eq(v128.load(p2 + i + 16), v2));
      if (v128.any_true(v128.or(lo, hi))) {
        let hits = <u32>i8x16.bitmask(lo) | (<u32>i8x16.bitmask(hi) << 16);
        while (hits != 0) {
          const k = <usize>ctz(hits);
          if (memory.compare(ptr + i + k, needle, m) == 0) return <isize>(i + k);
          hits &= hits - 1;
        }
      }
      i += 32;
    }
    for (; i <= last; i++) {
      if (load<u8>(p1 + i) == b1 && load<u8>(p2 + i) == b2 && memory.compare(ptr + i, needle, m) == 0) return <isize>i;
    }
    return -1;
  }
}
