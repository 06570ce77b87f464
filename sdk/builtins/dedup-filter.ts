// fluvio/dedup-bloom-filter: the filter a topic created with deduplication
// runs on its produce path (filter with look-back). A record whose key was
// seen among the last `count` keyed records kept, or within `age` ms of its
// own timestamp, is dropped; records without a key pass. The node feeds it
// the partition's last records (look-back) before the first write, so the
// window spans restarts. Exact (a key set, not a Bloom filter): no false
// positives, memory bounded by `count` keys.
//
// Params (the topic's deduplication bounds, as Fluvio's SPU passes them):
// `count` (required, >= 1) and `age` (ms, optional). Written with the
// @freshet/smartmodule SDK from the behaviour documented in
// fluvio-cli.md and fluvio-hub-smartmodules.md.

import { Params, Record, fail } from "@freshet/smartmodule";

/** The largest window: the node refuses topics with a larger count. */
const MAX_COUNT: i64 = 1000000;

let capacity: i32 = 0;
let ageMs: i64 = -1;
// the window, oldest first: a ring of keys and their timestamps
let ringKeys: string[] = [];
let ringTimes: i64[] = [];
let head: i32 = 0;
let size: i32 = 0;
/** Key → how many times it is in the window. */
const inWindow = new Map<string, i32>();

export function init(params: Params): void {
  const count = params.get("count");
  if (count == null) {
    fail("Missing param count");
    return;
  }
  const n = I64.parseInt(count);
  if (n < 1 || n > MAX_COUNT) {
    fail("count must be between 1 and " + MAX_COUNT.toString() + ", got " + count);
    return;
  }
  capacity = <i32>n;
  const age = params.get("age");
  if (age != null) ageMs = I64.parseInt(age);
  ringKeys = new Array<string>(capacity);
  ringTimes = new Array<i64>(capacity);
}

/** The key's bytes as a string, one char per byte (exact for any bytes, not only UTF-8). */
function keyOf(bytes: Uint8Array): string {
  const codes = new Array<i32>(bytes.length);
  for (let i = 0; i < bytes.length; i++) codes[i] = bytes[i];
  return String.fromCharCodes(codes);
}

function dropOldest(): void {
  const key = ringKeys[head];
  const left = inWindow.get(key) - 1;
  if (left == 0) inWindow.delete(key);
  else inWindow.set(key, left);
  head = (head + 1) % capacity;
  size--;
}

function remember(key: string, time: i64): void {
  if (size == capacity) dropOldest();
  const at = (head + size) % capacity;
  ringKeys[at] = key;
  ringTimes[at] = time;
  size++;
  inWindow.set(key, inWindow.has(key) ? inWindow.get(key) + 1 : 1);
}

/** Forgets the keys older than the age bound, seen from `now`. */
function expire(now: i64): void {
  if (ageMs < 0 || now <= 0) return;
  while (size > 0 && ringTimes[head] > 0 && ringTimes[head] < now - ageMs) dropOldest();
}

export function lookBack(record: Record): void {
  const key = record.key;
  if (key == null) return;
  expire(record.timestamp);
  remember(keyOf(key), record.timestamp);
}

export function filter(record: Record): bool {
  const key = record.key;
  if (key == null) return true;
  expire(record.timestamp);
  const k = keyOf(key);
  if (inWindow.has(k)) return false;
  remember(k, record.timestamp);
  return true;
}
