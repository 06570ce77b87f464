/**
 * What every part of a file partition shares: where it lives, its settings,
 * its logger and its I/O. Plain data; the parts own their own state.
 */
import assert from 'node:assert/strict';

import type { Logger } from 'pino';

import type { StorageConfig } from './config.js';
import { StorageError } from './errors.js';
import { isNoSpace, type StorageIo } from './io.js';

/** The logger methods storage uses (a pino Logger fits). */
export type StorageLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

export interface PartitionEnv {
  readonly topic: string;
  readonly partition: number;
  /** `<dataDir>/<topic>-<partition>` */
  readonly dir: string;
  readonly config: Readonly<StorageConfig>;
  readonly log: StorageLogger;
  readonly io: StorageIo;
  /** Whether rolls, indexes and the directory are fsynced (every flush policy but 'os'). */
  readonly syncs: boolean;
}

/**
 * Writes an index or time index file. They are caches of the log (recovery
 * and reads rebuild a missing, short or stale one), so a full disk must not
 * fail what only refreshes one: that is logged and skipped.
 */
export async function writeCacheFile(env: PartitionEnv, file: string, data: Buffer, sync: boolean): Promise<void> {
  try {
    await env.io.writeFile(file, data, sync);
  } catch (err) {
    if (!isNoSpace(err)) throw err;
    env.log.warn({ file, err: describeError(err) }, 'disk full: index file not written (it is rebuilt from the log when needed)');
  }
}

/** The disk is full: `consequence` says what did not happen and what to expect. */
export function noSpaceError(env: PartitionEnv, cause: unknown, consequence: string): StorageError {
  return new StorageError(
    'NO_SPACE',
    `disk full: no space left on device for partition ${env.topic}-${env.partition} in ${env.dir} ` +
      `(${describeError(cause)}); ${consequence}`,
    { cause, topic: env.topic, partition: env.partition },
  );
}

export function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function corruptSegment(env: PartitionEnv, logPath: string, position: number, problem: string): StorageError {
  env.log.error({ segment: logPath, position, problem }, 'corrupt segment');
  return new StorageError('CORRUPT', `corrupt segment ${logPath} at position ${position}: ${problem}`, {
    topic: env.topic,
    partition: env.partition,
  });
}

/**
 * The AssertionError, naming the partition, for an invariant of the store
 * that does not hold: a bug or memory changed under the store, never bad
 * input. Callers test the condition inline (`if (!ok) throw brokenInvariant(…)`)
 * so the hot path builds no message.
 */
export function brokenInvariant(env: PartitionEnv, what: string): assert.AssertionError {
  return new assert.AssertionError({ message: `partition ${env.topic}-${env.partition}: invariant broken: ${what}` });
}
