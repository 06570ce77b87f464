import os from 'node:os';
import { Command } from 'commander';
import { connect } from '../context.js';
import { examples, listFormatOption, printObject, type ListFormat } from '../output/format.js';
import { CLI_VERSION } from '../package-root.js';

export function versionCommand(): Command {
  return new Command('version')
    .description("print the CLI's version and, if a node answers, the platform version it reports")
    .addOption(listFormatOption())
    .addHelpText('after', examples('freshet version', 'freshet -c 127.0.0.1:9103 version -O json'))
    .action(async (flags: { output: ListFormat }, command: Command) => {
      let platform: string;
      let endpoint: string | undefined;
      try {
        const freshet = await connect(command, { connectTimeoutMs: 2000 });
        platform = freshet.platformVersion;
        endpoint = freshet.endpoint;
        await freshet.close();
      } catch (err) {
        platform = `unknown (${(err as Error).message.split(';')[0]})`;
      }
      const details = { cli: CLI_VERSION, platform, endpoint: endpoint ?? null, node: process.version, os: `${os.type()} ${os.release()} (${os.arch()})` };
      await printObject(
        [
          ['Freshet CLI', details.cli],
          ['Freshet Platform', endpoint ? `${platform} (at ${endpoint})` : platform],
          ['Node.js', details.node],
          ['OS Details', details.os],
        ],
        details,
        flags.output,
      );
    });
}
