import { Command, InvalidArgumentError, Option } from 'commander';
import type { FlushPolicy } from '../../storage/index.js';
import { defaultNodeConfig, defaultDataDir, startNode, DEFAULT_SC_PORT, DEFAULT_SPU_PORT } from '../../server/node.js';

export function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('expected a port number 0-65535');
  return port;
}

export function parseFlushPolicy(value: string): FlushPolicy {
  if (value === 'always' || value === 'os') return { kind: value };
  const interval = /^interval:(\d+)$/.exec(value);
  if (interval && Number(interval[1]) > 0) return { kind: 'interval', intervalMs: Number(interval[1]) };
  throw new InvalidArgumentError("expected 'always', 'os' or 'interval:<ms>'");
}

interface StartOptions {
  dataDir: string;
  scPort: number;
  spuPort: number;
  host: string;
  flush: FlushPolicy;
}

async function runClusterStart(options: StartOptions): Promise<void> {
  const node = await startNode(
    defaultNodeConfig({
      dataDir: options.dataDir,
      scPort: options.scPort,
      spuPort: options.spuPort,
      host: options.host,
      storage: { flush: options.flush },
    }),
  );
  process.stderr.write(
    `Freshet is running.\n  SC  (connect here): ${node.endpoint}\n  SPU: ${options.host}:${node.spuPort}\n  data: ${options.dataDir}\nPress Ctrl-C to stop.\n`,
  );
  const shutdown = (signal: string) => {
    process.stderr.write(`\n${signal} received, stopping (flushing partitions)...\n`);
    node.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`error while stopping: ${(err as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

export function clusterCommand(): Command {
  const cluster = new Command('cluster').description('run and manage a local Freshet node');
  cluster
    .command('start')
    .description('start a node (SC and SPU) in the foreground on local disk; stops cleanly on SIGINT/SIGTERM')
    .option('--data-dir <dir>', 'where topics and records are stored', defaultDataDir())
    .option('--sc-port <port>', 'SC port (clients connect here)', parsePort, DEFAULT_SC_PORT)
    .option('--spu-port <port>', 'SPU port (advertised to clients for produce and consume)', parsePort, DEFAULT_SPU_PORT)
    .option('--host <host>', 'address to listen on and to advertise', '127.0.0.1')
    .addOption(
      new Option(
        '--flush <policy>',
        "when appends reach the disk before they are acknowledged: 'always' (fsync, shared by concurrent appends), 'interval:<ms>', or 'os'",
      )
        .argParser(parseFlushPolicy)
        .default({ kind: 'always' }, 'always'),
    )
    .addHelpText(
      'after',
      `
Examples:
  $ freshet cluster start
  $ freshet cluster start --data-dir /var/lib/freshet --sc-port 9103 --spu-port 9105`,
    )
    .action(runClusterStart);
  return cluster;
}
