// Durations and byte sizes as fluvio reads and prints them: humantime
// (`1h 30m`, `7days`, `150ms`) and bytesize (`10 MiB`, `1 GB`, `2048`).

import { InvalidArgumentError } from 'commander';
import { parseByteSize as readByteSize, parseHumantime } from '../../connectors/units.js';

/** humantime: `150ms`, `20s`, `1h 30m`, `2d 10s`, `7 days` → milliseconds. */
export function parseDuration(text: string): number {
  const ms = parseHumantime(text);
  if (ms === undefined) throw new InvalidArgumentError(`expected a duration such as 150ms, 20s, 1h 30m or 7days, got "${text}"`);
  return ms;
}

const FORMAT_UNITS: [string, number, boolean][] = [
  ['year', 31_557_600, true],
  ['month', 2_630_016, true],
  ['day', 86_400, true],
  ['h', 3600, false],
  ['m', 60, false],
  ['s', 1, false],
];

/** Seconds as humantime prints them: `7days`, `1h 30m`, `0s`. */
export function formatDuration(seconds: number): string {
  let rest = Math.floor(seconds);
  const out: string[] = [];
  for (const [name, size, plural] of FORMAT_UNITS) {
    const count = Math.floor(rest / size);
    rest -= count * size;
    if (count > 0) out.push(`${count}${name}${plural && count > 1 ? 's' : ''}`);
  }
  return out.length > 0 ? out.join(' ') : '0s';
}

/** bytesize: `2048`, `2 Ki`, `10 MiB`, `1 GB` → bytes. */
export function parseByteSize(text: string): number {
  const bytes = readByteSize(text);
  if (bytes === undefined) throw new InvalidArgumentError(`expected a size such as 2048, 64 KiB, 10 MiB or 1 GB, got "${text}"`);
  return bytes;
}

/** Bytes as bytesize prints them: `0 B`, `1.2 KiB`, `10.0 MiB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const exponent = Math.min(Math.floor(Math.log(bytes) / Math.log(1024)), 5);
  return `${(bytes / 1024 ** exponent).toFixed(1)} ${'KMGTPE'[exponent - 1]}iB`;
}

/** A non-negative integer flag value. */
export function parseCount(text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isSafeInteger(value) || value < 0) throw new InvalidArgumentError(`expected a non-negative integer, got "${text}"`);
  return value;
}

/** Repeatable options gather their values. */
export function collect<T>(parse: (text: string) => T) {
  return (text: string, previous: T[] | undefined): T[] => [...(previous ?? []), parse(text)];
}
