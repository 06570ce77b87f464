// How a command reaches the node: the global -c/--cluster or -P/--profile
// (before the command, as fluvio has them), else FRESHET_ENDPOINT, else the
// current profile, else 127.0.0.1:9003. The client is loaded only by the
// commands that use it, so `--help` and local commands start fast.

import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import type { ClientTlsOptions, Freshet } from '../client/index.js';
import { usageError } from './output/errors.js';
import { checkProfileExists } from './profiles.js';

export interface GlobalOptions {
  cluster?: string;
  profile?: string;
  tls?: boolean;
  domain?: string;
  caCert?: string;
  clientCert?: string;
  clientKey?: string;
  /** Bearer token for the node's HTTP API (else FRESHET_TOKEN). */
  token?: string;
}

/** TLS from the global flags, as fluvio takes them: only with --cluster, the cert and key together. */
async function tlsFromFlags(options: GlobalOptions): Promise<ClientTlsOptions | undefined> {
  const given = options.domain !== undefined || options.caCert !== undefined || options.clientCert !== undefined || options.clientKey !== undefined;
  if (!options.tls) {
    if (given) throw usageError('--domain, --ca-cert, --client-cert and --client-key go with --tls');
    return undefined;
  }
  if (options.profile !== undefined) throw usageError('TLS flags are not valid when a profile is used', 'put them in the profile\'s [cluster.X.tls] section');
  if ((options.clientCert === undefined) !== (options.clientKey === undefined)) throw usageError('--client-cert and --client-key go together');
  const read = async (file: string, what: string) => {
    try {
      return await readFile(file, 'utf8');
    } catch (err) {
      throw usageError(`cannot read ${what} ${file}: ${(err as Error).message}`);
    }
  };
  return {
    ...(options.caCert !== undefined ? { ca: await read(options.caCert, 'the CA certificate') } : {}),
    ...(options.clientCert !== undefined ? { cert: await read(options.clientCert, 'the client certificate') } : {}),
    ...(options.clientKey !== undefined ? { key: await read(options.clientKey, 'the client key') } : {}),
    ...(options.domain !== undefined ? { domain: options.domain } : {}),
  };
}

export function globalOptions(command: Command): GlobalOptions {
  return command.optsWithGlobals<GlobalOptions>();
}

/**
 * Hands the global options to the command's action as `globals`, and whether
 * --data-dir was given on the command line as `dataDirGiven` (for commands
 * that reach the node's HTTP API).
 */
export function rememberGlobals(command: Command): Command {
  return command.hook('preAction', (_command, action) => {
    action.setOptionValue('globals', globalOptions(action));
    action.setOptionValue('dataDirGiven', action.getOptionValueSource('dataDir') === 'cli');
  });
}

/** Did the user name a node (-c, -P, FRESHET_ENDPOINT or FRESHET_PROFILE), rather than leave the default? */
export function namesCluster(flags: GlobalOptions): boolean {
  return flags.cluster !== undefined || flags.profile !== undefined || !!process.env.FRESHET_ENDPOINT || !!process.env.FRESHET_PROFILE;
}

/** The TLS settings a connection uses: the flags, else the profile's section, else FRESHET_TLS_*. */
export async function clientTls(flags: GlobalOptions): Promise<ClientTlsOptions | undefined> {
  const fromFlags = await tlsFromFlags(flags);
  if (fromFlags) return fromFlags;
  const { resolveEndpoint } = await import('../client/profile.js');
  const { tlsFromEnv } = await import('../client/tls.js');
  const resolved = resolveEndpoint({ ...(flags.cluster !== undefined ? { endpoint: flags.cluster } : {}), ...(flags.profile !== undefined ? { profile: flags.profile } : {}) });
  return resolved.source.startsWith('profile:') ? resolved.tls : tlsFromEnv(process.env);
}

/** Connects as the global options say. */
export async function connect(command: Command, options: { connectTimeoutMs?: number } = {}): Promise<Freshet> {
  return connectWith(globalOptions(command), options);
}

export async function connectWith(flags: GlobalOptions, options: { connectTimeoutMs?: number } = {}): Promise<Freshet> {
  const { cluster, profile } = flags;
  if (cluster !== undefined && profile !== undefined) {
    throw usageError('-c/--cluster and -P/--profile cannot be used together', 'give one: a HOST:PORT, or the name of a profile');
  }
  if (profile !== undefined) await checkProfileExists(profile);
  const tls = await tlsFromFlags(flags);
  const { Freshet } = await import('../client/index.js');
  return Freshet.connect({
    ...(tls ? { tls } : {}),
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
