// The one backoff of the code base: exponential, capped, with "equal
// jitter" — the ceiling doubles from minMs each attempt up to maxMs, and the
// delay is drawn from its upper half, never below minMs. Half of it being
// fixed keeps retries from ever being immediate (full jitter can draw ~0 ms
// and spin against a peer that is down); the random half spreads out the
// units that failed together (a node restart, a shared destination).
//
// attempt 0 waits exactly minMs; attempt n waits in
// [max(minMs, ceil/2), ceil] with ceil = min(maxMs, minMs · 2^n).

export interface BackoffRange {
  minMs: number;
  maxMs: number;
}

export function backoffDelay(attempt: number, range: BackoffRange, random: () => number = Math.random): number {
  const { minMs, maxMs } = range;
  if (!Number.isInteger(attempt) || attempt < 0) throw new RangeError(`backoff attempt must be a whole number >= 0, got ${attempt}`);
  if (!(minMs >= 0 && maxMs >= minMs && Number.isFinite(maxMs))) throw new RangeError(`backoff needs 0 <= minMs <= maxMs, got ${minMs} / ${maxMs}`);
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 52));
  return Math.round(Math.max(minMs, ceiling / 2 + (random() * ceiling) / 2));
}
