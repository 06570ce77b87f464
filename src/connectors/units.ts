// Durations and byte sizes as Fluvio's connector configs spell them:
// humantime strings (`1ms`, `500ms`, `2s`, `1h 30m`; a bare number is an
// error, as in Rust's humantime) and bytesize strings (`"44.0 MB"`,
// `1 MiB`, `16384`, or a YAML integer).

const DURATION_UNITS: [RegExp, number][] = [
  [/^(nsec|ns)$/, 1e-6],
  [/^(usec|us|µs)$/, 1e-3],
  [/^(msec|ms|millis|milliseconds?)$/, 1],
  [/^(seconds?|secs?|s)$/, 1000],
  [/^(minutes?|mins?|m)$/, 60_000],
  [/^(hours?|hrs?|h)$/, 3_600_000],
  [/^(days?|d)$/, 86_400_000],
  [/^(weeks?|w)$/, 604_800_000],
  [/^(months?|M)$/, 2_630_016_000],
  [/^(years?|y)$/, 31_557_600_000],
];

/** humantime → milliseconds (may be fractional for ns/us); undefined when it is not a duration. */
export function parseHumantime(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  const pieces = [...trimmed.matchAll(/(\d+)\s*([a-zA-Zµ]+)\s*/gy)];
  if (pieces.length === 0 || pieces.reduce((n, p) => n + p[0].length, 0) !== trimmed.length) return undefined;
  let ms = 0;
  for (const [, amount, unit] of pieces) {
    const factor = DURATION_UNITS.find(([pattern]) => pattern.test(unit))?.[1];
    if (factor === undefined) return undefined;
    ms += Number(amount) * factor;
  }
  return ms;
}

export const DURATION_EXPECTED = 'a duration such as 100ms, 10s, 1m or 1h 30m';

const BYTE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  ki: 1024,
  kib: 1024,
  m: 1e6,
  mb: 1e6,
  mi: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1e9,
  gb: 1e9,
  gi: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1e12,
  tb: 1e12,
  ti: 1024 ** 4,
  tib: 1024 ** 4,
  p: 1e15,
  pb: 1e15,
  pi: 1024 ** 5,
  pib: 1024 ** 5,
};

/** bytesize → bytes (rounded down); undefined when it is not a size. */
export function parseByteSize(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
  if (!match) return undefined;
  const factor = BYTE_UNITS[match[2].toLowerCase()];
  if (factor === undefined) return undefined;
  const bytes = Math.floor(Number(match[1]) * factor);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

export const BYTE_SIZE_EXPECTED = 'a byte size such as 16384, 64 KB or 1 MiB';
