// Profiles: named endpoints in the profile file the client reads
// (FRESHET_PROFILE_PATH, else ~/.freshet/config), in fluvio's TOML shape.

import { Command } from 'commander';
import type { ProfileConfig } from '../../client/index.js';
import { notFoundError } from '../output/errors.js';
import { examples, listFormatOption, note, printLine, printList, type ListFormat } from '../output/format.js';
import { parseEndpointArg } from '../options.js';
import { loadProfiles as load, profileNotFound, saveProfiles as save } from '../profiles.js';

interface ProfileRow {
  name: string;
  current: boolean;
  cluster: string;
  endpoint: string;
  tls: string;
}

function profileRows(config: ProfileConfig): ProfileRow[] {
  return Object.entries(config.profile ?? {})
    .map(([name, profile]) => {
      const clusterName = profile.cluster ?? name;
      const cluster = config.cluster?.[clusterName];
      const policy = (cluster?.tls as { tls_policy?: string } | undefined)?.tls_policy ?? 'disabled';
      return {
        name,
        current: config.current_profile === name,
        cluster: clusterName,
        endpoint: cluster?.endpoint ?? cluster?.addr ?? '',
        tls: policy.charAt(0).toUpperCase() + policy.slice(1),
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

async function showCurrent(): Promise<void> {
  const { file, config } = await load();
  if (!config) throw notFoundError(`no profile can be found: there is no profile file at ${file}`, 'add one with `freshet profile add NAME HOST:PORT`');
  if (!config.current_profile) throw notFoundError('no current profile set', 'choose one with `freshet profile switch NAME`');
  await printLine(config.current_profile);
}

export function profileCommand(): Command {
  const profile = new Command('profile')
    .description('named endpoints in the profile file (FRESHET_PROFILE_PATH, else ~/.freshet/config)')
    .addHelpText(
      'after',
      examples('freshet profile list', 'freshet profile add staging 10.0.0.5:9003', 'freshet profile switch local', 'freshet profile current'),
    );

  profile
    .command('current', { isDefault: true })
    .description('print the current profile (the default sub-command)')
    .addHelpText('after', examples('freshet profile current'))
    .action(showCurrent);

  profile
    .command('list')
    .description('list profiles; * marks the current one')
    .addOption(listFormatOption())
    .addHelpText('after', examples('freshet profile list', 'freshet profile list -O json'))
    .action(async (flags: { output: ListFormat }) => {
      const { file, config } = await load();
      if (!config) note(`there is no profile file at ${file}; add a profile with \`freshet profile add NAME HOST:PORT\``);
      await printList(config ? profileRows(config) : [], flags.output, {
        header: ['', 'PROFILE', 'CLUSTER', 'ADDRESS', 'TLS'],
        row: (p) => [p.current ? '*' : '', p.name, p.cluster, p.endpoint, p.tls],
        empty: 'No profiles found',
      });
    });

  profile
    .command('switch')
    .description('make a profile the current one')
    .argument('<name>', 'profile name')
    .addHelpText('after', examples('freshet profile switch local'))
    .action(async (name: string) => {
      const { file, config } = await load();
      if (!config?.profile?.[name]) throw profileNotFound(name, config, file);
      config.current_profile = name;
      await save(file, config);
    });

  profile
    .command('add')
    .description('add (or replace) a profile and its cluster, and make it the current one')
    .argument('<name>', 'profile name (the cluster gets the same name)')
    .argument('<address>', 'HOST:PORT of the node (SC)', parseEndpointArg)
    .addHelpText('after', examples('freshet profile add local 127.0.0.1:9003', 'freshet profile add staging 10.0.0.5:9003'))
    .action(async (name: string, address: string) => {
      const { file, config } = await load();
      const next: ProfileConfig = config ?? { version: '2.0' };
      next.profile = { ...next.profile, [name]: { cluster: name } };
      next.cluster = { ...next.cluster, [name]: { endpoint: address, use_spu_local_address: false, tls: { tls_policy: 'disabled' } } };
      next.current_profile = name;
      await save(file, next);
      await printLine(`Switched to profile ${name}`);
    });

  profile
    .command('delete')
    .description('delete a profile (its cluster stays unless no other profile uses it)')
    .argument('<name>', 'profile name')
    .addHelpText('after', examples('freshet profile delete staging'))
    .action(async (name: string) => {
      const { file, config } = await load();
      const entry = config?.profile?.[name];
      if (!config || !entry) throw profileNotFound(name, config, file);
      delete config.profile![name];
      const clusterName = entry.cluster ?? name;
      const stillUsed = Object.entries(config.profile ?? {}).some(([other, p]) => (p.cluster ?? other) === clusterName);
      if (!stillUsed && config.cluster) delete config.cluster[clusterName];
      const wasCurrent = config.current_profile === name;
      if (wasCurrent) delete config.current_profile;
      await save(file, config);
      await printLine(`profile ${name} deleted`);
      if (wasCurrent) note('warning: that was the current profile; choose another with `freshet profile switch NAME`');
    });

  return profile;
}
