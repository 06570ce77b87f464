// `freshet connector create|list|describe|logs|delete|run`.
//
// Managed connectors live in a node: create/list/describe/logs/delete talk to
// the node's connector admin endpoint (JSON over HTTP(S), see
// src/connectors/admin-http.ts), found by --admin, else FRESHET_CONNECTOR_ADMIN,
// else the one the node named by -c/-P advertises, else
// `<data-dir>/connectors/admin.json` written by the node, else
// http://127.0.0.1:9080 (src/cli/node-endpoint.ts). `run` runs one connector in the foreground, in this
// process, against any node (-c / profile), restarting it with backoff until
// Ctrl-C: how a user develops one.

import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Command, Option } from 'commander';
import { defaultDataDir } from '../../node/defaults.js';
import { globalOptions, rememberGlobals, type GlobalOptions } from '../context.js';
import { callEndpoint, parseEndpoint, resolveEndpoint, type Endpoint, type EndpointCall } from '../node-endpoint.js';
import { CliError, usageError } from '../output/errors.js';
import { examples, listFormatOption, note, printLine, printList, printObject, type ListFormat } from '../output/format.js';
import { stdoutWriter } from '../output/writer.js';
import type { ConnectorStatus } from '../../connectors/runtime.js';

interface ConnectorInfo {
  name: string;
  type: string;
  kind: string;
  topic: string;
  version: string;
  status: ConnectorStatus;
  stats: { records: number; deadLetters: number; retries: number; lastRecordAt?: number };
  createdAt: string;
  config?: string;
  secretsFile?: string;
  warnings?: string[];
}

interface AdminFlags {
  admin?: string;
  dataDir: string;
  globals: GlobalOptions;
  dataDirGiven: boolean;
}

const ADMIN_CALL: EndpointCall = {
  what: 'connector admin endpoint',
  unreachableHint: 'start one with `freshet cluster start`; give its data dir with --data-dir, or its endpoint with --admin HOST:PORT',
  errorHint: (_status, answerHint) => answerHint,
};

function adminEndpoint(flags: AdminFlags): Promise<Endpoint> {
  return resolveEndpoint({
    flag: flags.admin,
    flagName: '--admin',
    envVar: 'FRESHET_CONNECTOR_ADMIN',
    file: path.join(flags.dataDir, 'connectors', 'admin.json'),
    fileGiven: flags.dataDirGiven,
    globals: flags.globals,
  });
}

async function call<T>(flags: AdminFlags, method: string, route: string, body?: unknown, endpoint?: Endpoint): Promise<T> {
  return callEndpoint<T>(endpoint ?? (await adminEndpoint(flags)), ADMIN_CALL, method, route, body);
}

/** A node on this machine can read a secrets file by its path; one elsewhere gets the values the config uses. */
function onThisMachine(url: string): boolean {
  const host = new URL(url).hostname;
  return host === 'localhost' || host === '[::1]' || /^127\./.test(host);
}

function adminOptions(command: Command): Command {
  return rememberGlobals(
    command
      .addOption(new Option('--admin <host:port>', "the node's connector admin endpoint (default: the one the node of -c/-P advertises, else from the data dir, else 127.0.0.1:9080)").argParser(parseEndpoint))
      .addOption(new Option('--data-dir <dir>', 'data dir of the local node (where it records its admin endpoint)').default(defaultDataDir())),
  );
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** A pino JSON line as `2026-01-01T10:00:00.000Z WARN  message key=value`. */
export function formatLogLine(line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const { time, level, msg, pid: _pid, hostname: _host, connector: _connector, ...rest } = entry;
  const when = typeof time === 'number' ? new Date(time).toISOString() : '';
  const extra = Object.entries(rest)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
  return `${when} ${(LEVELS[level as number] ?? String(level)).padEnd(5)} ${String(msg ?? '')}${extra ? `  ${extra}` : ''}`;
}

function statusText(status: ConnectorStatus): string {
  if (status.state === 'restarting' && status.nextRestartAt) {
    const inMs = Date.parse(status.nextRestartAt) - Date.now();
    return `restarting (in ${Math.max(0, Math.round(inMs / 1000))}s)`;
  }
  return status.state;
}

async function readSecretsOption(file: string | undefined, text: string, local: boolean): Promise<{ secretsFile?: string; secrets?: Record<string, string> }> {
  if (file && local) return { secretsFile: path.resolve(file) };
  const { referencedSecrets } = await import('../../connectors/config.js');
  const { envSecretStore, fileSecretStore } = await import('../../connectors/secrets.js');
  const store = file ? fileSecretStore(path.resolve(file)) : envSecretStore();
  const secrets: Record<string, string> = {};
  for (const name of referencedSecrets(text)) {
    const value = store.get(name);
    if (value !== undefined) secrets[name] = value;
  }
  return Object.keys(secrets).length > 0 ? { secrets } : {};
}

async function loadConfigLocally(file: string, secretsFile: string | undefined) {
  await import('../../connectors/builtins.js');
  const { parseConnectorConfig } = await import('../../connectors/config.js');
  const { envSecretStore, fileSecretStore } = await import('../../connectors/secrets.js');
  const text = await readConfigText(file);
  const parse = () => parseConnectorConfig(text, { secrets: secretsFile ? fileSecretStore(path.resolve(secretsFile)) : envSecretStore(), fileName: file });
  return { text, parse };
}

async function readConfigText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw usageError(`cannot read the config ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}

/** A ConfigError from the connectors module as a usage error (exit 2) with its hint. */
function asCliError(err: unknown): unknown {
  if (err instanceof Error && err.name === 'ConfigError') return usageError(err.message, (err as Error & { hint?: string }).hint);
  return err;
}

export function connectorCommand(): Command {
  const connector = new Command('connector')
    .description('run source and sink connectors (Fluvio connector YAML): managed by a node, or in the foreground')
    .addHelpText(
      'after',
      examples(
        'freshet connector create --config http-source.yaml --secrets secrets.env',
        'freshet connector list',
        'freshet connector describe github-stars',
        'freshet connector logs github-stars -n 50',
        'freshet connector delete github-stars',
        'freshet connector run --config http-source.yaml     # foreground, Ctrl-C stops it',
      ) + '\n\nSee docs/connectors.md for the config format and the built-in connectors.',
    );

  adminOptions(
    connector
      .command('create')
      .description('hand a connector to the node: it runs there, survives node restarts, and is restarted with backoff when it fails')
      .requiredOption('--config <file>', 'connector config (Fluvio YAML, apiVersion 0.1.0 or 0.2.0)')
      .option('--secrets <file>', 'NAME=value lines, read by a node on this machine at every start; a node elsewhere is sent the values the config uses (default: those values from this environment)'),
  )
    .addHelpText('after', examples('freshet connector create --config c.yaml', 'GITHUB_TOKEN=... freshet connector create --config c.yaml', 'freshet connector create --config c.yaml --secrets s.env'))
    .action(async (flags: AdminFlags & { config: string; secrets?: string }) => {
      const { text, parse } = await loadConfigLocally(flags.config, flags.secrets);
      let warnings: string[];
      try {
        warnings = parse().warnings;
      } catch (err) {
        throw asCliError(err);
      }
      for (const warning of warnings) note(`warning: ${warning}`);
      const endpoint = await adminEndpoint(flags);
      const secrets = await readSecretsOption(flags.secrets, text, onThisMachine(endpoint.url));
      const created = await call<ConnectorInfo>(flags, 'POST', '/connectors', { config: text, ...secrets }, endpoint);
      await printLine(`connector "${created.name}" (${created.type}) created`);
    });

  adminOptions(connector.command('list').description('list the connectors of the node').addOption(listFormatOption()))
    .addHelpText('after', examples('freshet connector list', 'freshet connector list -O json | jq -r .name'))
    .action(async (flags: AdminFlags & { output: ListFormat }) => {
      const items = await call<ConnectorInfo[]>(flags, 'GET', '/connectors');
      await printList(items, flags.output, {
        header: ['NAME', 'TYPE', 'TOPIC', 'STATUS', 'RESTARTS', 'RECORDS', 'DEAD LETTERS', 'LAST ERROR'],
        row: (c) => [c.name, c.type, c.topic, statusText(c.status), String(c.status.restarts), String(c.stats.records), String(c.stats.deadLetters), (c.status.lastError ?? '').slice(0, 80)],
        right: [4, 5, 6],
        empty: 'No connectors found',
      });
    });

  adminOptions(connector.command('describe').description('show one connector: status, last error, counters, config').argument('<name>', 'connector name').addOption(listFormatOption()))
    .addHelpText('after', examples('freshet connector describe github-stars', 'freshet connector describe github-stars -O json'))
    .action(async (name: string, flags: AdminFlags & { output: ListFormat }) => {
      const c = await call<ConnectorInfo>(flags, 'GET', `/connectors/${encodeURIComponent(name)}`);
      const pairs: [string, string][] = [
        ['Name', c.name],
        ['Type', `${c.type} (${c.kind})`],
        ['Version', c.version],
        ['Topic', c.topic],
        ['Status', statusText(c.status)],
        ['Restarts', String(c.status.restarts)],
        ['Running Since', c.status.startedAt ?? '-'],
        ['Last Error', c.status.lastError ? `${c.status.lastError} (${c.status.lastErrorAt})` : '-'],
        ['Last Warning', c.status.lastWarning ?? '-'],
        ['Records', String(c.stats.records)],
        ['Dead Letters', c.stats.deadLetters > 0 ? `${c.stats.deadLetters} (topic ${c.name}-dlq)` : '0'],
        ['Retried Writes', String(c.stats.retries)],
        ['Secrets', c.secretsFile ?? 'given at create time, or the node environment'],
        ['Created', c.createdAt],
      ];
      for (const warning of c.warnings ?? []) pairs.push(['Warning', warning]);
      await printObject(pairs, c, flags.output);
    });

  adminOptions(
    connector
      .command('logs')
      .description("the connector's recent log lines (the node keeps the last 500)")
      .argument('<name>', 'connector name')
      .addOption(new Option('-n, --lines <count>', 'how many').argParser((v) => Number.parseInt(v, 10)).default(100))
      .option('--json', 'the raw JSON lines'),
  )
    .addHelpText('after', examples('freshet connector logs github-stars', 'freshet connector logs github-stars -n 20 --json'))
    .action(async (name: string, flags: AdminFlags & { lines: number; json?: boolean }) => {
    const { lines } = await call<{ lines: string[] }>(flags, 'GET', `/connectors/${encodeURIComponent(name)}/logs?lines=${flags.lines}`);
    const out = stdoutWriter();
    for (const line of lines) await out.write(`${flags.json ? line : formatLogLine(line)}\n`);
    await out.flush();
  });

  adminOptions(connector.command('delete').description('stop connectors and forget them (their topics stay)').argument('<name...>', 'connector names'))
    .addHelpText('after', examples('freshet connector delete github-stars', 'freshet connector delete a b'))
    .action(async (names: string[], flags: AdminFlags) => {
      for (const name of names) {
        await call(flags, 'DELETE', `/connectors/${encodeURIComponent(name)}`);
        await printLine(`connector "${name}" deleted`);
      }
    });

  connector
    .command('run')
    .description('run a connector in the foreground against a node (-c / profile), restarting it with backoff, until Ctrl-C')
    .requiredOption('--config <file>', 'connector config (Fluvio YAML)')
    .option('--secrets <file>', 'NAME=value lines (default: the environment)')
    .option('--state-dir <dir>', 'where source checkpoints are kept', path.join(os.homedir(), '.freshet', 'connectors'))
    .addHelpText('after', examples('freshet connector run --config http-source.yaml', 'freshet -c 127.0.0.1:9103 connector run --config sink.yaml --secrets s.env'))
    .action(async (flags: { config: string; secrets?: string; stateDir: string }, command: Command) => {
      const { parse } = await loadConfigLocally(flags.config, flags.secrets);
      let first;
      try {
        first = parse();
      } catch (err) {
        throw asCliError(err);
      }
      const { cluster, profile } = globalOptions(command);
      const { resolveEndpoint } = await import('../../client/index.js');
      const { endpoint } = resolveEndpoint({ ...(cluster !== undefined ? { endpoint: cluster } : {}), ...(profile !== undefined ? { profile } : {}) });
      const { superviseConnector } = await import('../../connectors/runtime.js');
      const { default: pino } = await import('pino');
      const log = pino(
        { level: process.env.FRESHET_LOG ?? 'info', base: undefined },
        { write: (line: string) => void process.stderr.write(`${formatLogLine(line.trimEnd())}\n`) },
      );
      const controller = new AbortController();
      const stop = (signal: string) => {
        process.stderr.write(`\n${signal} received, stopping ${first.name}...\n`);
        controller.abort();
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.stderr.write(`Running ${first.type.type} connector "${first.name}" against ${endpoint} (topic ${first.topic}). Ctrl-C stops it.\n`);
      let loaded = false;
      const status = await superviseConnector({
        endpoint,
        stateDir: path.resolve(flags.stateDir),
        log,
        signal: controller.signal,
        load: () => {
          if (!loaded) {
            loaded = true;
            return first;
          }
          return parse();
        },
        onStatus: (s) => {
          if (s.state === 'running') log.info('connector running');
        },
      });
      if (status.state === 'failed') throw new CliError(`connector "${first.name}" failed: ${status.lastError}`);
    });

  return connector;
}
