// Flag values shared by `produce`, `consume` and `benchmark`, spelled as fluvio accepts them.

import { InvalidArgumentError } from 'commander';
import type { CompressionName } from '../client/index.js';

export type Isolation = 'read_uncommitted' | 'read_committed';

/** read_committed / ReadCommitted / readCommitted / readcommitted (and the same for read_uncommitted). */
export function parseIsolation(text: string): Isolation {
  const plain = text.replace(/[_-]/g, '').toLowerCase();
  if (plain === 'readcommitted') return 'read_committed';
  if (plain === 'readuncommitted') return 'read_uncommitted';
  throw new InvalidArgumentError('expected read_committed or read_uncommitted');
}

export const COMPRESSIONS: readonly CompressionName[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

/** A producer's batch compression, any case. */
export function parseCompression(text: string): CompressionName {
  const value = text.toLowerCase() as CompressionName;
  if (!COMPRESSIONS.includes(value)) throw new InvalidArgumentError(`expected one of ${COMPRESSIONS.join(', ')}`);
  return value;
}

/** at-least-once / at_least_once / AtLeastOnce / atleastonce, and at-most-once likewise. */
export function parseDeliverySemantic(text: string): 'at-least-once' | 'at-most-once' {
  const plain = text.replace(/[_-]/g, '').toLowerCase();
  if (plain === 'atleastonce') return 'at-least-once';
  if (plain === 'atmostonce') return 'at-most-once';
  throw new InvalidArgumentError('expected at-least-once or at-most-once');
}

/** `-e key=value`: split at the first `=`. */
export function parseParam(text: string): [string, string] {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`expected KEY=VALUE, got "${text}"`);
  return [text.slice(0, eq), text.slice(eq + 1)];
}

/** `-c/--cluster HOST:PORT` and `profile add`: a host and a port. */
export function parseEndpointArg(text: string): string {
  const match = /^(.+):(\d{1,5})$/.exec(text);
  if (!match || Number(match[2]) > 65535) throw new InvalidArgumentError(`expected HOST:PORT, such as 127.0.0.1:9003, got "${text}"`);
  return text;
}
