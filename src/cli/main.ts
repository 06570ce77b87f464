import { Command } from 'commander';
import { clusterCommand } from './commands/cluster.js';

const program = new Command('freshet')
  .description('Freshet: a real-time streaming data platform, wire-compatible with Fluvio')
  .version('0.1.0', '-V, --version')
  .addCommand(clusterCommand());

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`error: ${(err as Error).message}\n`);
  process.exit(1);
});
