// How a command reaches the node: the global -c/--cluster or -P/--profile
// (before the command, as fluvio has them), else FRESHET_ENDPOINT, else the
// current profile, else 127.0.0.1:9003. The client is loaded only by the
// commands that use it, so `--help` and local commands start fast.

import type { Command } from 'commander';
import type { Freshet } from '../client/index.js';
import { usageError } from './output/errors.js';
import { checkProfileExists } from './profiles.js';

export interface GlobalOptions {
  cluster?: string;
  profile?: string;
}

export function globalOptions(command: Command): GlobalOptions {
  return command.optsWithGlobals<GlobalOptions>();
}

/** Connects as the global options say. */
export async function connect(command: Command, options: { connectTimeoutMs?: number } = {}): Promise<Freshet> {
  const { cluster, profile } = globalOptions(command);
  if (cluster !== undefined && profile !== undefined) {
    throw usageError('-c/--cluster and -P/--profile cannot be used together', 'give one: a HOST:PORT, or the name of a profile');
  }
  if (profile !== undefined) await checkProfileExists(profile);
  const { Freshet } = await import('../client/index.js');
  return Freshet.connect({
    ...(cluster !== undefined ? { endpoint: cluster } : {}),
    ...(profile !== undefined ? { profile } : {}),
    clientId: 'freshet-cli',
    connectTimeoutMs: options.connectTimeoutMs ?? 5000,
  });
}

/** Runs `work` with a connected client, closing it afterwards. */
export async function withClient<T>(command: Command, work: (freshet: Freshet) => Promise<T>): Promise<T> {
  const freshet = await connect(command);
  try {
    return await work(freshet);
  } finally {
    await freshet.close();
  }
}
