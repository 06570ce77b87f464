import { rm } from 'node:fs/promises';
import { createInterface } from 'node:readline/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { FlushPolicy } from '../../storage/index.js';
import { defaultDataDir, DEFAULT_SC_PORT, DEFAULT_SPU_PORT } from '../../node/defaults.js';
import { CliError, usageError } from '../output/errors.js';
import { examples, note, printLine } from '../output/format.js';
import { parseDuration } from '../output/units.js';
import { checkDataDir, runningNodePid, startDaemon, stopLocalNode } from '../local-node.js';
import type { NodeConfig } from '../../node/index.js';
import { clusterStatusCommand } from './cluster-status.js';
import { parseNatsUrls } from '../../storage/jetstream/urls.js';

function parseSpuId(value: string): number {
  const id = Number(value);
  if (!Number.isInteger(id) || id < 1 || id > 0x7fff_ffff) throw new InvalidArgumentError('expected an SPU id 1-2147483647');
  return id;
}

function parseNatsOption(value: string): string[] {
  try {
    return parseNatsUrls(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

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

function flushPolicyText(policy: FlushPolicy): string {
  return policy.kind === 'interval' ? `interval:${policy.intervalMs}` : policy.kind;
}

interface StartOptions {
  dataDir: string;
  scPort: number;
  spuPort: number;
  host: string;
  flush: FlushPolicy;
  consolePort?: number;
  /** 0 turns the Kafka listener off. */
  kafkaPort?: number;
  nats?: string[];
  spuId?: number;
  daemon?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  clientCert: boolean;
  auth?: boolean;
  superUser: string[];
  aclPolicy?: string;
  insecure?: boolean;
}

/** The security flags again, for the daemon's command line. */
function securityArgs(options: StartOptions): string[] {
  const args: string[] = [];
  if (options.tlsCert !== undefined) args.push('--tls-cert', options.tlsCert);
  if (options.tlsKey !== undefined) args.push('--tls-key', options.tlsKey);
  if (options.tlsCa !== undefined) args.push('--tls-ca', options.tlsCa);
  if (!options.clientCert) args.push('--no-client-cert');
  if (options.auth) args.push('--auth');
  for (const user of options.superUser) args.push('--super-user', user);
  if (options.aclPolicy !== undefined) args.push('--acl-policy', options.aclPolicy);
  if (options.insecure) args.push('--insecure');
  return args;
}

function securityConfig(options: StartOptions): Partial<NodeConfig> {
  if ((options.tlsCert === undefined) !== (options.tlsKey === undefined)) throw usageError('--tls-cert and --tls-key go together');
  if (options.tlsCa !== undefined && options.tlsCert === undefined) throw usageError('--tls-ca needs --tls-cert and --tls-key (the node\'s own certificate)');
  const auth = options.auth || options.superUser.length > 0 || options.aclPolicy !== undefined;
  return {
    ...(options.tlsCert !== undefined && options.tlsKey !== undefined
      ? { tls: { certFile: options.tlsCert, keyFile: options.tlsKey, ...(options.tlsCa !== undefined ? { caFile: options.tlsCa } : {}), requireClientCert: options.clientCert } }
      : {}),
    ...(auth ? { auth: { enabled: true, superUsers: options.superUser, ...(options.aclPolicy !== undefined ? { policyFile: options.aclPolicy } : {}) } } : {}),
    ...(options.insecure ? { insecure: true } : {}),
  };
}

/** `--kafka-port`: 0 is off (on the command line; in a node config, 0 picks a free port). */
function kafkaConfig(port: number | undefined): { kafka?: { enabled?: boolean; port?: number } } {
  if (port === undefined) return {};
  return port === 0 ? { kafka: { enabled: false } } : { kafka: { port } };
}

async function runClusterStart(options: StartOptions): Promise<void> {
  securityConfig(options);
  if (options.daemon) {
    const args = ['--data-dir', options.dataDir, '--sc-port', String(options.scPort), '--spu-port', String(options.spuPort)];
    if (options.consolePort !== undefined) args.push('--console-port', String(options.consolePort));
    if (options.kafkaPort !== undefined) args.push('--kafka-port', String(options.kafkaPort));
    if (options.nats) args.push('--nats', options.nats.join(','));
    if (options.spuId !== undefined) args.push('--spu-id', String(options.spuId));
    const started = await startDaemon(options.dataDir, [...args, '--host', options.host, '--flush', flushPolicyText(options.flush), ...securityArgs(options)]);
    process.stderr.write(
      `Freshet is running in the background (pid ${started.pid}).\n  SC  (connect here): ${started.endpoint}\n  SPU: ${started.spu}\n` +
        (started.console ? `  console: ${started.console}\n` : '') +
        `  data: ${options.dataDir}\n  log: ${started.log}\nStop it with \`freshet cluster shutdown --data-dir ${options.dataDir}\`.\n`,
    );
    return;
  }
  const { defaultNodeConfig, startNode, stopOnSignals } = await import('../../node/index.js');
  const node = await startNode(
    defaultNodeConfig({
      dataDir: options.dataDir,
      scPort: options.scPort,
      spuPort: options.spuPort,
      host: options.host,
      storage: { flush: options.flush },
      ...(options.consolePort !== undefined ? { console: { port: options.consolePort } } : {}),
      ...kafkaConfig(options.kafkaPort),
      ...securityConfig(options),
      ...(options.nats ? { nats: { urls: options.nats } } : {}),
      ...(options.spuId !== undefined ? { spuId: options.spuId } : {}),
    }),
  );
  process.stderr.write(
    `Freshet is running.\n  SC  (connect here): ${node.endpoint}\n  SPU: ${options.host}:${node.spuPort}\n` +
      (node.consoleUrl ? `  console: ${node.consoleUrl}\n` : '') +
      (node.kafka ? `  Kafka: ${options.host}:${node.kafka.port}\n` : '') +
      `  data: ${options.dataDir}\nPress Ctrl-C to stop.\n`,
  );
  stopOnSignals(() => node.stop(), { what: 'the node', doing: 'flushing partitions' });
  // The process now lives until a signal; main must not exit it.
  await new Promise(() => {});
}

async function confirmDelete(dataDir: string): Promise<boolean> {
  if (!process.stdin.isTTY) throw usageError(`refusing to delete ${dataDir} without confirmation`, 'pass --force (stdin is not a terminal to ask on)');
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await prompt.question(`Delete ${dataDir} with every topic and record in it? Type "delete" to confirm: `);
  prompt.close();
  return answer.trim() === 'delete';
}

function dataDirOption(what: string): Option {
  return new Option('--data-dir <dir>', what).default(defaultDataDir());
}

export function clusterCommand(): Command {
  const cluster = new Command('cluster')
    .description('run and manage a local Freshet node')
    .addHelpText(
      'after',
      examples('freshet cluster start', 'freshet cluster start --daemon', 'freshet cluster status', 'freshet cluster shutdown', 'freshet cluster delete --force'),
    );
  cluster
    .command('start')
    .description('start a node (SC and SPU) on local disk: in the foreground (Ctrl-C or SIGTERM stops it cleanly), or with --daemon in the background')
    .addOption(dataDirOption('where topics and records are stored'))
    .option('--sc-port <port>', 'SC port (clients connect here)', parsePort, DEFAULT_SC_PORT)
    .option('--spu-port <port>', 'SPU port (advertised to clients for produce and consume)', parsePort, DEFAULT_SPU_PORT)
    .option('--host <host>', 'address to listen on and to advertise', '127.0.0.1')
    .option('--console-port <port>', 'port of the console: web page with live plots, dataflow and connector APIs, /metrics (default 9080 with the default SC port, else a free one)', parsePort)
    .option('--kafka-port <port>', 'port of the Kafka listener (default 9092 with the default SC port, else a free one; 0 turns it off)', parsePort)
    .addOption(
      new Option(
        '--flush <policy>',
        "when appends reach the disk before they are acknowledged: 'always' (fsync, shared by concurrent appends), 'interval:<ms>', or 'os'",
      )
        .argParser(parseFlushPolicy)
        .default({ kind: 'always' }, 'always'),
    )
    .option('--nats <urls>', 'keep partitions and metadata in this NATS JetStream cluster instead of the data dir (nats://host:port[,more]); see docs/scale-out.md', parseNatsOption)
    .option('--spu-id <id>', 'SPU id of this node; each node sharing a NATS cluster needs its own (default 5001)', parseSpuId)
    .option('--daemon', 'run in the background (log in <data-dir>/freshet.log); returns once the node answers')
    .option('--tls-cert <file>', 'TLS on every listener: the node\'s certificate chain (PEM)')
    .option('--tls-key <file>', 'the key of --tls-cert (PEM)')
    .option('--tls-ca <file>', 'CA of client certificates (PEM): clients must present one signed by it (mutual TLS); its subject CN is their identity')
    .option('--no-client-cert', 'with --tls-ca: accept clients without a certificate too (they are anonymous)')
    .option('--auth', 'check every request against the ACLs (freshet acl, --acl-policy); needs users or client certificates')
    .addOption(new Option('--super-user <user>', 'a user that passes every check (repeatable; implies --auth)').argParser((value: string, previous: string[]) => [...previous, value]).default([]))
    .option('--acl-policy <file>', 'ACL rules in YAML or JSON (implies --auth); see docs/security.md')
    .option('--insecure', 'allow listening on a non-loopback --host without TLS client certificates and authorization')
    .addHelpText(
      'after',
      examples(
        'freshet cluster start',
        'freshet cluster start --daemon',
        'freshet cluster start --data-dir /var/lib/freshet --sc-port 9103 --spu-port 9105',
        'freshet cluster start --nats nats://10.0.0.1:4222,nats://10.0.0.2:4222,nats://10.0.0.3:4222',
      ),
    )
    .action(runClusterStart);

  cluster.addCommand(clusterStatusCommand(dataDirOption('also say whether a node holds this data dir')));

  cluster
    .command('shutdown')
    .description('stop the node running on a data dir (SIGTERM: appends are flushed); data is kept')
    .addOption(dataDirOption('data dir of the node to stop'))
    .addOption(new Option('--timeout <time>', 'how long to wait for it to stop').argParser(parseDuration).default(30_000, '30s'))
    .addHelpText('after', examples('freshet cluster shutdown', 'freshet cluster shutdown --data-dir /var/lib/freshet'))
    .action(async (flags: { dataDir: string; timeout: number }) => {
      const pid = await stopLocalNode(flags.dataDir, flags.timeout);
      if (pid === undefined) note(`no Freshet node is running on data dir ${flags.dataDir}; nothing to stop`);
      else await printLine(`Freshet node (pid ${pid}) stopped; data kept in ${flags.dataDir}`);
    });

  cluster
    .command('delete')
    .description('delete a local data dir: every topic and record (no node may be running on it)')
    .addOption(dataDirOption('data dir to delete'))
    .option('--force', 'do not ask for confirmation')
    .addHelpText('after', examples('freshet cluster delete', 'freshet cluster delete --data-dir /tmp/freshet-test --force'))
    .action(async (flags: { dataDir: string; force?: boolean }) => {
      if ((await checkDataDir(flags.dataDir)) === 'missing') {
        note(`nothing to delete: ${flags.dataDir} does not exist`);
        return;
      }
      const pid = await runningNodePid(flags.dataDir);
      if (pid !== undefined) {
        throw new CliError(`a node (pid ${pid}) is running on ${flags.dataDir}`, undefined, `stop it first: \`freshet cluster shutdown --data-dir ${flags.dataDir}\``);
      }
      if (!flags.force && !(await confirmDelete(flags.dataDir))) {
        note('Confirmation failed. Aborting.');
        return;
      }
      await rm(flags.dataDir, { recursive: true, force: true });
      await printLine(`Deleted data dir ${flags.dataDir}`);
    });
  return cluster;
}
