// Byte-level helpers of the SDK: a bounds-checked big-endian reader over
// unmanaged memory (the host's input buffer), a growable writer into
// unmanaged memory (the output the host reads after the call), and UTF-8
// conversions. fluvio-protocol encodings: smartmodule-abi.md §3.

/** Reads fluvio-protocol values; any read past `end` clears `ok` and yields zeros. */
export class Reader {
  pos: usize;
  end: usize;
  ok: bool = true;

  constructor(start: usize, len: usize) {
    this.pos = start;
    this.end = start + len;
  }

  remaining(): usize {
    return this.pos <= this.end ? this.end - this.pos : 0;
  }

  // @ts-ignore: decorator
  @inline
  has(n: usize): bool {
    if (this.ok && n <= this.end - this.pos) return true;
    this.ok = false;
    return false;
  }

  u8(): u32 {
    if (!this.has(1)) return 0;
    const v = <u32>load<u8>(this.pos);
    this.pos += 1;
    return v;
  }

  u16(): u32 {
    if (!this.has(2)) return 0;
    const v = (<u32>load<u8>(this.pos) << 8) | <u32>load<u8>(this.pos + 1);
    this.pos += 2;
    return v;
  }

  u32(): u32 {
    if (!this.has(4)) return 0;
    const v = bswap<u32>(load<u32>(this.pos));
    this.pos += 4;
    return v;
  }

  i64(): i64 {
    if (!this.has(8)) return 0;
    const v = bswap<u64>(load<u64>(this.pos));
    this.pos += 8;
    return <i64>v;
  }

  bool(): bool {
    const b = this.u8();
    if (b > 1) this.ok = false;
    return b == 1;
  }

  /** Zig-zag LEB128 varint (record lengths, deltas). */
  // @ts-ignore: decorator
  @inline
  varint(): i64 {
    // one byte: most lengths and deltas of small records
    if (this.ok && this.pos < this.end) {
      const b = <i64>load<u8>(this.pos);
      if (b < 0x80) {
        this.pos += 1;
        return (b >> 1) ^ -(b & 1);
      }
    }
    let raw: u64 = 0;
    let shift: u64 = 0;
    while (true) {
      if (!this.has(1)) return 0;
      const b = <u64>load<u8>(this.pos);
      this.pos += 1;
      if (shift < 64) raw |= (b & 0x7f) << shift;
      if ((b & 0x80) == 0) break;
      shift += 7;
      if (shift > 63) {
        this.ok = false;
        return 0;
      }
    }
    return <i64>(raw >> 1) ^ -(<i64>(raw & 1));
  }

  /** `String`: i16 length (<= 0: empty) + UTF-8. */
  string(): string {
    const n = <i32>(<i16>this.u16());
    if (n <= 0) return "";
    if (!this.has(<usize>n)) return "";
    const start = this.pos;
    this.pos += <usize>n;
    if (!validUtf8(start, <usize>n)) {
      this.ok = false;
      return "";
    }
    return String.UTF8.decodeUnsafe(start, <usize>n, false);
  }

  /** `n` bytes copied into a new array. */
  bytes(n: usize): Uint8Array {
    if (!this.has(n)) return new Uint8Array(0);
    const out = new Uint8Array(<i32>n);
    memory.copy(out.dataStart, this.pos, n);
    this.pos += n;
    return out;
  }

  skip(n: usize): void {
    if (this.has(n)) this.pos += n;
  }
}

/** A growable output buffer in unmanaged memory (heap.alloc): the host reads it after the call returns. */
export class Writer {
  ptr: usize;
  len: usize = 0;
  cap: usize;

  constructor(cap: usize = 256) {
    this.cap = cap < 16 ? 16 : cap;
    this.ptr = heap.alloc(this.cap);
  }

  reserve(n: usize): void {
    const need = this.len + n;
    if (need <= this.cap) return;
    let cap = this.cap << 1;
    if (cap < need) cap = need;
    this.ptr = heap.realloc(this.ptr, cap);
    this.cap = cap;
  }

  u8(v: u32): void {
    this.reserve(1);
    store<u8>(this.ptr + this.len, <u8>v);
    this.len += 1;
  }

  u16(v: u32): void {
    this.reserve(2);
    store<u8>(this.ptr + this.len, <u8>(v >> 8));
    store<u8>(this.ptr + this.len + 1, <u8>v);
    this.len += 2;
  }

  u32(v: u32): void {
    this.reserve(4);
    store<u32>(this.ptr + this.len, bswap<u32>(v));
    this.len += 4;
  }

  /** Overwrites 4 bytes written earlier. */
  u32At(at: usize, v: u32): void {
    store<u32>(this.ptr + at, bswap<u32>(v));
  }

  i64(v: i64): void {
    this.reserve(8);
    store<u64>(this.ptr + this.len, bswap<u64>(<u64>v));
    this.len += 8;
  }

  /** fluvio-protocol's varint encoder, quirks included (zig-zag with `>> 31`, loop on the low 32 bits). */
  varint(n: i64): void {
    let v: i64 = (n << 1) ^ (n >> 31);
    while ((v & 0xffffff80) != 0) {
      this.u8(<u32>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    this.u8(<u32>(v & 0xff));
  }

  raw(src: usize, n: usize): void {
    if (n == 0) return;
    this.reserve(n);
    memory.copy(this.ptr + this.len, src, n);
    this.len += n;
  }

  array(bytes: Uint8Array): void {
    this.raw(bytes.dataStart, <usize>bytes.length);
  }

  /** `String`: u16 length + UTF-8 (longer hints are cut at 32767 bytes, on a character boundary). */
  string(s: string): void {
    const bytes = utf8(s);
    let n = bytes.length;
    if (n > 32767) {
      n = 32767;
      while (n > 0 && (bytes[n] & 0xc0) == 0x80) n--;
    }
    this.u16(<u32>n);
    this.raw(bytes.dataStart, <usize>n);
  }

  free(): void {
    if (this.ptr != 0) heap.free(this.ptr);
    this.ptr = 0;
  }
}

/** The UTF-8 bytes of a string. */
export function utf8(s: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(s, false));
}

/** Decodes UTF-8 (invalid sequences become U+FFFD). */
export function fromUtf8(bytes: Uint8Array): string {
  return String.UTF8.decodeUnsafe(bytes.dataStart, <usize>bytes.length, false);
}

/** Whether `n` bytes at `ptr` are valid UTF-8. */
export function validUtf8(ptr: usize, n: usize): bool {
  return utf8ErrorAt(ptr, n) == null;
}

/**
 * Rust's `std::str::from_utf8` error text for these bytes, or null when they
 * are valid UTF-8: "invalid utf-8 sequence of 1 bytes from index 0",
 * "incomplete utf-8 byte sequence from index 4".
 */
export function utf8Error(bytes: Uint8Array): string | null {
  return utf8ErrorAt(bytes.dataStart, <usize>bytes.length);
}

function utf8ErrorAt(ptr: usize, n: usize): string | null {
  let i: usize = 0;
  while (i < n) {
    // ASCII runs, 64 bytes at a time (no byte with its high bit set), then 32, 16, 8
    while (i + 64 <= n && i8x16.bitmask(v128.or(v128.or(v128.load(ptr + i), v128.load(ptr + i + 16)), v128.or(v128.load(ptr + i + 32), v128.load(ptr + i + 48)))) == 0) i += 64;
    if (i + 32 <= n && i8x16.bitmask(v128.or(v128.load(ptr + i), v128.load(ptr + i + 16))) == 0) i += 32;
    if (i + 16 <= n && i8x16.bitmask(v128.load(ptr + i)) == 0) i += 16;
    if (i + 8 <= n && (load<u64>(ptr + i) & 0x8080808080808080) == 0) i += 8;
    if (i >= n) break;
    const b0 = <u32>load<u8>(ptr + i);
    if (b0 < 0x80) {
      i++;
      continue;
    }
    let width: usize = 0;
    if (b0 >= 0xc2 && b0 <= 0xdf) width = 2;
    else if (b0 >= 0xe0 && b0 <= 0xef) width = 3;
    else if (b0 >= 0xf0 && b0 <= 0xf4) width = 4;
    else return invalidSeq(1, i);
    // valid_up_to / error_len as Rust computes them
    if (i + 1 >= n) return incomplete(i);
    const b1 = <u32>load<u8>(ptr + i + 1);
    let ok1 = false;
    if (width == 2) ok1 = (b1 & 0xc0) == 0x80;
    else if (b0 == 0xe0) ok1 = b1 >= 0xa0 && b1 <= 0xbf;
    else if (b0 == 0xed) ok1 = b1 >= 0x80 && b1 <= 0x9f;
    else if (width == 3) ok1 = (b1 & 0xc0) == 0x80;
    else if (b0 == 0xf0) ok1 = b1 >= 0x90 && b1 <= 0xbf;
    else if (b0 == 0xf4) ok1 = b1 >= 0x80 && b1 <= 0x8f;
    else ok1 = (b1 & 0xc0) == 0x80;
    if (!ok1) return invalidSeq(1, i);
    if (width == 2) {
      i += 2;
      continue;
    }
    if (i + 2 >= n) return incomplete(i);
    if ((<u32>load<u8>(ptr + i + 2) & 0xc0) != 0x80) return invalidSeq(2, i);
    if (width == 3) {
      i += 3;
      continue;
    }
    if (i + 3 >= n) return incomplete(i);
    if ((<u32>load<u8>(ptr + i + 3) & 0xc0) != 0x80) return invalidSeq(3, i);
    i += 4;
  }
  return null;
}

function invalidSeq(len: i32, at: usize): string {
  return "invalid utf-8 sequence of " + len.toString() + " bytes from index " + at.toString();
}

function incomplete(at: usize): string {
  return "incomplete utf-8 byte sequence from index " + at.toString();
}

/** Byte-wise equality. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): bool {
  if (a.length != b.length) return false;
  return memory.compare(a.dataStart, b.dataStart, <usize>a.length) == 0;
}
