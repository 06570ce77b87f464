// Where the client connects, in this order:
//
//   1. the `endpoint` given to Freshet.connect;
//   2. the environment variable FRESHET_ENDPOINT;
//   3. the profile file, in the TOML shape of Fluvio's ~/.fluvio/config:
//        version = "2.0"
//        current_profile = "local"
//        [profile.local]
//        cluster = "local"
//        [cluster.local]
//        endpoint = "127.0.0.1:9003"     # "addr" is accepted too, as Fluvio reads it
//      at FRESHET_PROFILE_PATH or ~/.freshet/config; the profile is the one
//      named in `profile` (or FRESHET_PROFILE), else current_profile;
//   4. 127.0.0.1:9003, the embedded default.

import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'smol-toml';
import { FreshetError } from './errors.js';
import { tlsFromProfile, type ClientTlsOptions } from './tls.js';

export const DEFAULT_ENDPOINT = '127.0.0.1:9003';

export interface ProfileConfig {
  version?: string;
  current_profile?: string;
  profile?: { [name: string]: { cluster?: string; topic?: string; partition?: number } };
  cluster?: { [name: string]: { endpoint?: string; addr?: string; use_spu_local_address?: boolean; tls?: unknown } };
}

export function defaultProfilePath(env: NodeJS.ProcessEnv = process.env): string {
  return env.FRESHET_PROFILE_PATH ?? path.join(os.homedir(), '.freshet', 'config');
}

/** The parsed profile file, or undefined when there is none. */
export function loadProfileConfig(file = defaultProfilePath()): ProfileConfig | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new FreshetError('CONFIG', `cannot read the profile file ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    return parse(text) as ProfileConfig;
  } catch (err) {
    throw new FreshetError('CONFIG', `the profile file ${file} is not valid TOML: ${(err as Error).message}`, { cause: err });
  }
}

export interface ResolvedEndpoint {
  endpoint: string;
  /** Where it came from: 'option', 'env', 'profile:<name>' or 'default'. */
  source: string;
  /** TLS settings of the profile's cluster (`[cluster.X.tls]`), when it came from a profile that has them. */
  tls?: ClientTlsOptions;
}

export function resolveEndpoint(
  options: { endpoint?: string; profile?: string; profilePath?: string } = {},
  env: NodeJS.ProcessEnv = process.env,
): ResolvedEndpoint {
  if (options.endpoint) return { endpoint: options.endpoint, source: 'option' };
  if (env.FRESHET_ENDPOINT && !options.profile) return { endpoint: env.FRESHET_ENDPOINT, source: 'env' };
  const file = options.profilePath ?? defaultProfilePath(env);
  const config = loadProfileConfig(file);
  const wanted = options.profile ?? env.FRESHET_PROFILE;
  if (!config) {
    if (wanted) throw new FreshetError('CONFIG', `profile "${wanted}" not found: there is no profile file at ${file}`);
    return { endpoint: DEFAULT_ENDPOINT, source: 'default' };
  }
  const name = wanted ?? config.current_profile;
  if (!name) return { endpoint: DEFAULT_ENDPOINT, source: 'default' };
  const profile = config.profile?.[name];
  if (!profile) {
    const known = Object.keys(config.profile ?? {});
    throw new FreshetError('CONFIG', `profile "${name}" not found in ${file}` + (known.length ? ` (profiles: ${known.join(', ')})` : ''));
  }
  const clusterName = profile.cluster ?? name;
  const cluster = config.cluster?.[clusterName];
  const endpoint = cluster?.endpoint ?? cluster?.addr;
  if (!endpoint) throw new FreshetError('CONFIG', `profile "${name}" names cluster "${clusterName}", which has no endpoint in ${file}`);
  const tls = tlsFromProfile(cluster?.tls, `${file} [cluster.${clusterName}.tls]`);
  return { endpoint, source: `profile:${name}`, ...(tls ? { tls } : {}) };
}
