// The profile file (FRESHET_PROFILE_PATH, else ~/.freshet/config) as the CLI
// reads and writes it.

import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ProfileConfig } from '../client/index.js';
import { notFoundError, type CliError } from './output/errors.js';

export async function loadProfiles(): Promise<{ file: string; config: ProfileConfig | undefined }> {
  const { defaultProfilePath, loadProfileConfig } = await import('../client/profile.js');
  const file = defaultProfilePath();
  return { file, config: loadProfileConfig(file) };
}

export async function saveProfiles(file: string, config: ProfileConfig): Promise<void> {
  const { stringify } = await import('smol-toml');
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, stringify(config), { mode: 0o600 });
}

export function profileNotFound(name: string, config: ProfileConfig | undefined, file: string): CliError {
  const known = Object.keys(config?.profile ?? {}).sort();
  return notFoundError(
    `profile "${name}" not found in ${file}`,
    known.length > 0 ? `profiles: ${known.join(', ')}` : 'add one with `freshet profile add NAME HOST:PORT`',
  );
}

/** Throws (exit 4) unless the profile file has this profile. */
export async function checkProfileExists(name: string): Promise<void> {
  const { file, config } = await loadProfiles();
  if (!config?.profile?.[name]) throw profileNotFound(name, config, file);
}
