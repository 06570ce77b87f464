// Partition choice, as Fluvio's producer makes it
// (crates/fluvio/src/producer/partitioning.rs, SiphashRoundRobinPartitioner):
//
//   keyed record    SipHash-2-4 with a zero key (siphasher's SipHasher::new())
//                   over what `<[u8] as Hash>::hash` feeds the hasher: the
//                   slice length as a little-endian u64, then the bytes;
//                   partition = hash % partition_count (as u64)
//   keyless record  round-robin: a per-producer counter starting at 0
//
// So a key lands in the same partition whichever client sent it.

/** SipHash-2-4 state as 32-bit halves: [v0hi, v0lo, v1hi, v1lo, v2hi, v2lo, v3hi, v3lo]. */
const state = new Uint32Array(8);

function add(a: number, b: number): void {
  // v[a] += v[b] (mod 2^64)
  const lo = state[a + 1] + state[b + 1];
  state[a] = state[a] + state[b] + (lo > 0xffffffff ? 1 : 0);
  state[a + 1] = lo;
}

function rotl(a: number, n: number): void {
  const hi = state[a];
  const lo = state[a + 1];
  if (n === 32) {
    state[a] = lo;
    state[a + 1] = hi;
  } else if (n < 32) {
    state[a] = (hi << n) | (lo >>> (32 - n));
    state[a + 1] = (lo << n) | (hi >>> (32 - n));
  } else {
    const m = n - 32;
    state[a] = (lo << m) | (hi >>> (32 - m));
    state[a + 1] = (hi << m) | (lo >>> (32 - m));
  }
}

function xor(a: number, b: number): void {
  state[a] ^= state[b];
  state[a + 1] ^= state[b + 1];
}

const V0 = 0;
const V1 = 2;
const V2 = 4;
const V3 = 6;

function sipRound(): void {
  add(V0, V1);
  rotl(V1, 13);
  xor(V1, V0);
  rotl(V0, 32);
  add(V2, V3);
  rotl(V3, 16);
  xor(V3, V2);
  add(V0, V3);
  rotl(V3, 21);
  xor(V3, V0);
  add(V2, V1);
  rotl(V1, 17);
  xor(V1, V2);
  rotl(V2, 32);
}

function compress(hi: number, lo: number): void {
  state[V3] ^= hi;
  state[V3 + 1] ^= lo;
  sipRound();
  sipRound();
  state[V0] ^= hi;
  state[V0 + 1] ^= lo;
}

/**
 * SipHash-2-4 of `data` under the 128-bit key (k0, k1) given as little-endian
 * bytes (16 of them, default all zero); the 64-bit result as a bigint.
 */
export function siphash24(data: Uint8Array, key: Uint8Array = new Uint8Array(16)): bigint {
  const k = Buffer.from(key.buffer, key.byteOffset, 16);
  const k0hi = k.readUInt32LE(4);
  const k0lo = k.readUInt32LE(0);
  const k1hi = k.readUInt32LE(12);
  const k1lo = k.readUInt32LE(8);
  state[V0] = k0hi ^ 0x736f6d65;
  state[V0 + 1] = k0lo ^ 0x70736575;
  state[V1] = k1hi ^ 0x646f7261;
  state[V1 + 1] = k1lo ^ 0x6e646f6d;
  state[V2] = k0hi ^ 0x6c796765;
  state[V2 + 1] = k0lo ^ 0x6e657261;
  state[V3] = k1hi ^ 0x74656462;
  state[V3 + 1] = k1lo ^ 0x79746573;
  const length = data.length;
  const whole = length - (length % 8);
  for (let i = 0; i < whole; i += 8) {
    const lo = (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24)) >>> 0;
    const hi = (data[i + 4] | (data[i + 5] << 8) | (data[i + 6] << 16) | (data[i + 7] << 24)) >>> 0;
    compress(hi, lo);
  }
  const tail = new Uint8Array(8);
  tail.set(data.subarray(whole));
  tail[7] = length & 0xff;
  compress(
    (tail[4] | (tail[5] << 8) | (tail[6] << 16) | (tail[7] << 24)) >>> 0,
    (tail[0] | (tail[1] << 8) | (tail[2] << 16) | (tail[3] << 24)) >>> 0,
  );
  state[V2 + 1] ^= 0xff;
  sipRound();
  sipRound();
  sipRound();
  sipRound();
  const hi = (state[V0] ^ state[V1] ^ state[V2] ^ state[V3]) >>> 0;
  const lo = (state[V0 + 1] ^ state[V1 + 1] ^ state[V2 + 1] ^ state[V3 + 1]) >>> 0;
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/** What Rust's `Hash for [u8]` writes into the hasher: u64 length (little-endian) + the bytes. */
function hashInput(key: Uint8Array): Uint8Array {
  const input = new Uint8Array(8 + key.length);
  const length = key.length;
  input[0] = length & 0xff;
  input[1] = (length >>> 8) & 0xff;
  input[2] = (length >>> 16) & 0xff;
  input[3] = (length >>> 24) & 0xff;
  input.set(key, 8);
  return input;
}

/** The partition Fluvio's producer picks for a keyed record. */
export function keyPartition(key: Uint8Array, partitionCount: number): number {
  if (!Number.isInteger(partitionCount) || partitionCount < 1) throw new RangeError(`partition count ${partitionCount} must be at least 1`);
  return Number(siphash24(hashInput(key)) % BigInt(partitionCount));
}

/** Keyed records by SipHash, keyless ones round-robin (per partitioner instance). */
export class Partitioner {
  private counter = 0;

  partition(key: Uint8Array | null | undefined, partitionCount: number): number {
    if (key !== null && key !== undefined) return keyPartition(key, partitionCount);
    const partition = this.counter % partitionCount;
    this.counter = (this.counter + 1) % 0x7fffffff;
    return partition;
  }
}
