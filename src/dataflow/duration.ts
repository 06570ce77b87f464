// Durations in dataflow definitions: `250ms`, `10s`, `5m`, `1h`, and
// composites such as `1m 30s` (sdf-dataflow.md §7 #14: ms, s, m, h only;
// anything else is refused). A bare number is milliseconds.

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export class DurationError extends Error {}

/** Milliseconds of `250ms`, `10s`, `5m`, `1h`, `1m 30s`, or a number of ms. */
export function parseDuration(input: string | number): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) throw new DurationError(`expected a non-negative duration, got ${input}`);
    return input;
  }
  const text = input.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)\s*([a-zA-Z]+)/g)];
  const rest = text.replace(/(\d+(?:\.\d+)?)\s*([a-zA-Z]+)/g, '').trim();
  if (parts.length === 0 || rest !== '') throw new DurationError(`expected a duration such as 250ms, 10s, 5m or 1h, got "${input}"`);
  let ms = 0;
  for (const [, amount, unit] of parts) {
    const factor = UNITS[unit];
    if (factor === undefined) throw new DurationError(`unknown time unit "${unit}" in "${input}" (use ms, s, m or h)`);
    ms += Number(amount) * factor;
  }
  return Math.round(ms);
}

/** `90000` → `1m 30s`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0ms';
  const out: string[] = [];
  let rest = ms;
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1000], ['ms', 1]] as const) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0) out.push(`${n}${unit}`);
  }
  return out.join(' ');
}
