// `freshet dataflow run|create|list|describe|query|stop|start|delete`:
// stateful dataflows (docs/dataflows.md). `run` runs one in the foreground
// (as `sdf run` does) with its state under --dir (FRESHET_DATAFLOW_DIR,
// ~/.freshet/dataflows) and an HTTP endpoint the other commands read.
// `create` hands one to the node, which runs and restarts it (as it does
// connectors); the node's console endpoint (--console, FRESHET_CONSOLE, the
// URL the node records in `<data-dir>/console.json`, else 127.0.0.1:9080)
// serves the same API. The other commands find a dataflow by name: first
// one run from this machine's --dir, else one the node manages.

import path from 'node:path';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import { globalOptions, rememberGlobals, type GlobalOptions } from '../context.js';
import { callEndpoint, parseEndpoint, resolveEndpoint, type Endpoint, type EndpointCall } from '../node-endpoint.js';
import { CliError, ExitCode, notFoundError, usageError } from '../output/errors.js';
import { examples, listFormatOption, note, printLine, printList, printObject, jsonLine, type ListFormat } from '../output/format.js';
import { renderTable } from '../output/table.js';
import { styleFor } from '../output/colour.js';
import { stdoutWriter } from '../output/writer.js';
import type { LocalDataflow } from '../../dataflow/store.js';
import { defaultDataDir } from '../../node/defaults.js';

function parseHostPort(text: string): string {
  if (!/^[^:]+:\d{1,5}$/.test(text)) throw new InvalidArgumentError(`expected HOST:PORT such as 127.0.0.1:9080 (port 0: any free port), got "${text}"`);
  return text;
}

function dirOption(): Option {
  return new Option('--dir <dir>', 'where dataflows keep their state (default: FRESHET_DATAFLOW_DIR, else ~/.freshet/dataflows)');
}

async function root(flags: { dir?: string }): Promise<string> {
  const { dataflowsRoot } = await import('../../dataflow/store.js');
  return path.resolve(flags.dir ?? dataflowsRoot());
}

interface NodeFlags {
  console?: string;
  dataDir: string;
  globals: GlobalOptions;
  dataDirGiven: boolean;
}

/** --console and --data-dir: where the node that manages dataflows is. */
function withNodeOptions(command: Command): Command {
  return rememberGlobals(
    command
      .addOption(new Option('--console <host:port>', "the node's console endpoint (default: FRESHET_CONSOLE, else the one the node of -c/-P advertises, else recorded in the data dir, else 127.0.0.1:9080)").argParser(parseEndpoint))
      .addOption(new Option('--data-dir <dir>', 'data dir of the local node (where it records its console endpoint)').default(defaultDataDir())),
  );
}

function consoleUrl(flags: NodeFlags): Promise<Endpoint> {
  return resolveEndpoint({ flag: flags.console, flagName: '--console', envVar: 'FRESHET_CONSOLE', file: path.join(flags.dataDir, 'console.json'), fileGiven: flags.dataDirGiven, globals: flags.globals });
}

class NoConsoleError extends CliError {}

const CONSOLE_CALL: EndpointCall = {
  what: 'console endpoint',
  unreachableHint: 'start one with `freshet cluster start`; give its data dir with --data-dir, or its console with --console HOST:PORT',
  unreachableError: NoConsoleError,
  errorHint: (status, hint) => hint ?? (status === 404 ? 'see them with `freshet dataflow list`' : undefined),
};

/** A request to the node's dataflow API; NoConsoleError when nothing answers. */
async function nodeCall<T>(flags: NodeFlags, method: string, route: string, body?: unknown): Promise<T> {
  return callEndpoint<T>(await consoleUrl(flags), CONSOLE_CALL, method, route, body);
}

type Target = { where: 'local'; found: LocalDataflow } | { where: 'node' };

/** A dataflow run from this machine's --dir, else one the node manages. */
async function target(flags: { dir?: string } & NodeFlags, name: string): Promise<Target> {
  const { localDataflow } = await import('../../dataflow/store.js');
  const found = await localDataflow(await root(flags), name);
  if (found) return { where: 'local', found };
  try {
    await nodeCall(flags, 'GET', `/dataflows/${encodeURIComponent(name)}`);
    return { where: 'node' };
  } catch (err) {
    if (err instanceof NoConsoleError || (err instanceof CliError && err.exitCode === ExitCode.NOT_FOUND)) {
      throw notFoundError(
        `no dataflow named "${name}" (neither in ${await root(flags)} nor on the node)`,
        'see them with `freshet dataflow list`; start one with `freshet dataflow run --config dataflow.yaml` or `freshet dataflow create --config dataflow.yaml`',
      );
    }
    throw err;
  }
}

interface ServiceView {
  service: string;
  watermark: number | null;
  inputs: { topic: string; partition: number; next: number }[];
  checkpoint: { seq: number; at: string | null };
  metrics: Record<string, unknown>;
}

/** Key/value lines of a dataflow's status (describe). */
function statusPairs(name: string, status: Record<string, unknown>, extra: [string, string][]): [string, string][] {
  const pairs: [string, string][] = [['Name', name], ['Status', String(status.state ?? '-')], ...extra];
  if (typeof status.lastError === 'string') pairs.push(['Last Error', status.lastError]);
  for (const s of (status.services as ServiceView[] | undefined) ?? []) {
    if (typeof s !== 'object' || s === null || !Array.isArray(s.inputs)) continue;
    pairs.push([`${s.service}: watermark`, time(s.watermark)]);
    pairs.push([`${s.service}: inputs`, s.inputs.map((i) => `${i.topic}/${i.partition}@${i.next}`).join(' ')]);
    pairs.push([`${s.service}: checkpoint`, `#${s.checkpoint.seq} at ${s.checkpoint.at ?? '-'}`]);
    const m = s.metrics;
    pairs.push([`${s.service}: records`, `${cell(m.records)} in, ${cell(m.failed)} failed, ${cell(m.filtered)} filtered, ${cell(m.late)} late`]);
    pairs.push([`${s.service}: results`, `${cell(m.windowsClosed)} windows closed, ${cell(m.windowResults)} window results (${cell(m.filledResults)} filled), ${cell(m.correlations)} correlations`]);
    pairs.push([`${s.service}: state`, `${cell(m.keys)} keys, ${cell(m.groups)} groups; ${cell(m.keysRetired)} retired, ${cell(m.keysEvicted)} evicted, ${cell(m.refused)} refused by limits`]);
  }
  return pairs;
}

async function httpGet(address: string, pathname: string, post?: unknown): Promise<unknown> {
  let response: Response;
  try {
    const init: RequestInit = post === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(post) };
    response = await fetch(`http://${address}${pathname}`, { ...init, signal: AbortSignal.timeout(30_000) });
  } catch (err) {
    throw new CliError(`the dataflow's endpoint at ${address} does not answer: ${(err as Error).message}`, ExitCode.NO_NODE, 'is it running? `freshet dataflow list`');
  }
  const body = (await response.json()) as { error?: string; hint?: string };
  if (!response.ok) {
    const code = response.status === 404 ? ExitCode.NOT_FOUND : response.status === 400 ? ExitCode.USAGE : ExitCode.ERROR;
    throw new CliError(body.error ?? `HTTP ${response.status}`, code, body.hint);
  }
  return body;
}

function time(ms: unknown): string {
  return typeof ms === 'number' && Number.isFinite(ms) ? new Date(ms).toISOString().replace('.000Z', 'Z') : '-';
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

interface WindowView {
  windowStart: number;
  windowEnd: number;
  values: Record<string, unknown>;
  series?: Record<string, Record<string, unknown>>;
  filled?: boolean;
  closed?: boolean;
}

const SERIES_FIELDS = ['delta', 'pctChange', 'rollingMean'];

/** Columns for the series fields present: [fact, field]. */
function seriesColumns(windows: (WindowView | undefined)[]): [string, string][] {
  const seen = new Map<string, [string, string]>();
  for (const w of windows) {
    for (const [fact, fields] of Object.entries(w?.series ?? {})) for (const f of SERIES_FIELDS) if (f in fields) seen.set(`${fact}.${f}`, [fact, f]);
  }
  return [...seen.values()];
}

const seriesHeader = ([fact, f]: [string, string]) => `${fact} ${f}`.toUpperCase();

function windowRows(windows: WindowView[], state: string) {
  return windows.map((w) => ({ ...w, state }));
}

async function printQuery(result: Record<string, unknown>, format: ListFormat): Promise<void> {
  const out = stdoutWriter();
  if (format === 'json') {
    await out.write(jsonLine(result));
    await out.flush();
    return;
  }
  const style = styleFor(process.stdout);
  const lines: string[] = [];
  if ('key' in result) {
    lines.push(` key ${String(result.key)}${result.group ? `  group ${String(result.group)}` : ''}  watermark ${time(result.watermark)}\n`);
    const rows = [...windowRows(result.closed as WindowView[], 'closed'), ...windowRows(result.open as WindowView[], 'open')];
    const valueNames = [...new Set(rows.flatMap((r) => Object.keys(r.values)))];
    const columns = seriesColumns(rows);
    if (rows.length > 0) {
      lines.push(
        renderTable(
          ['WINDOW START', 'WINDOW END', 'STATE', ...valueNames.map((n) => n.toUpperCase()), ...columns.map(seriesHeader)],
          rows.map((r) => [
            time(r.windowStart),
            time(r.windowEnd),
            r.filled ? 'filled' : r.state,
            ...valueNames.map((n) => cell(r.values[n])),
            ...columns.map(([fact, f]) => cell(r.series?.[fact]?.[f])),
          ]),
          { style },
        ),
      );
    } else lines.push(' no windows for this key\n');
  } else if ('group' in result) {
    lines.push(` group ${String(result.group)}  watermark ${time(result.watermark)}\n`);
    const keys = result.keys as { key: string; closed: WindowView[]; open: WindowView[] }[];
    const latest = keys.map((k) => ({ key: k.key, w: k.closed.at(-1) }));
    const valueNames = [...new Set(latest.flatMap((l) => Object.keys(l.w?.values ?? {})))];
    const columns = seriesColumns(latest.map((l) => l.w));
    lines.push(
      renderTable(
        ['KEY', 'LAST WINDOW', ...valueNames.map((n) => n.toUpperCase()), ...columns.map(seriesHeader)],
        latest.map((l) => [l.key, time(l.w?.windowStart), ...valueNames.map((n) => cell(l.w?.values[n])), ...columns.map(([fact, f]) => cell(l.w?.series?.[fact]?.[f]))]),
        { style },
      ),
    );
  }
  const correlations = result.correlations as { name: string; a: string; b: string; windowStart: number; n: number; r: number | null; p: number | null }[] | undefined;
  if (correlations && correlations.length > 0) {
    lines.push('\n');
    lines.push(
      renderTable(
        ['CORRELATION', 'A', 'B', 'WINDOW', 'POINTS', 'PEARSON R', 'P'],
        correlations.map((c) => [c.name, c.a, c.b, time(c.windowStart), String(c.n), cell(c.r), cell(c.p)]),
        { style },
      ),
    );
  }
  if (!('key' in result) && !('group' in result)) {
    const open = result.openWindows as { windowStart: number; keys: number }[];
    lines.push(
      ` watermark ${time(result.watermark)}  keys ${String(result.keys)}  groups ${(result.groups as string[]).length}\n` +
        ` open windows: ${open.map((w) => `${time(w.windowStart)} (${w.keys} keys)`).join(', ') || 'none'}\n`,
    );
    lines.push(` metrics: ${JSON.stringify(result.metrics)}\n`);
  }
  await out.write(lines.join(''));
  await out.flush();
}

/** `run --from beginning --until end`: the topics' current contents through the dataflow, results written, then exit. */
async function replay(spec: import('../../dataflow/spec.js').DataflowSpec, configPath: string, command: Command): Promise<void> {
  const { DataflowRuntime } = await import('../../dataflow/runner.js');
  const { Freshet } = await import('../../client/index.js');
  const { cluster, profile } = globalOptions(command);
  const client = await Freshet.connect({ ...(cluster ? { endpoint: cluster } : {}), ...(profile ? { profile } : {}), clientId: `dataflow-${spec.name}-replay` });
  const started = Date.now();
  try {
    // No state is read or kept: the state dir is not used.
    const runtime = await DataflowRuntime.start(spec, { client, stateDir: '', baseDir: path.dirname(configPath), replay: true });
    let failed: Error | undefined;
    await runtime.done.catch((err: Error) => (failed = err));
    await runtime.stop();
    if (failed) throw new CliError(`dataflow "${spec.name}" failed: ${(failed as Error).message}`);
    const seconds = (Date.now() - started) / 1000;
    for (const s of runtime.status().services) {
      const m = s.metrics;
      note(`${s.service}: ${m.records} records (${m.failed} failed, ${m.late} late, ${m.refused} refused) → ${m.windowResults} window results, ${m.correlations} correlations`);
    }
    note(`dataflow "${spec.name}" replayed in ${seconds.toFixed(1)} s`);
  } finally {
    await client.close();
  }
}

async function waitForExit(pid: number, ms: number): Promise<boolean> {
  const { processAlive } = await import('../../common/index.js');
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!processAlive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return !processAlive(pid);
}

export function dataflowCommand(): Command {
  const dataflow = new Command('dataflow')
    .description('stateful dataflows: windows, aggregates, series and correlations over topics')
    .addHelpText(
      'after',
      examples(
        'freshet dataflow run --config dataflow.yaml',
        'freshet dataflow create --config dataflow.yaml   # run by the node',
        'freshet dataflow list',
        'freshet dataflow query price-stats --key p-42',
        'freshet dataflow query price-stats --group acme -O json',
        'freshet dataflow stop price-stats',
      ),
    );

  dataflow
    .command('run')
    .description('run a dataflow in the foreground (resumes from its checkpoint; Ctrl-C stops it after a last checkpoint)')
    .requiredOption('--config <file>', 'the dataflow YAML (dataflow.yaml)')
    .addOption(dirOption())
    .addOption(new Option('--http <host:port>', 'address of its HTTP endpoint (query, live change feed)').argParser(parseHostPort).default('127.0.0.1:0'))
    .addOption(new Option('--from <position>', "replay: read the source topics from their first record (with --until end), with no checkpoint").choices(['beginning']))
    .addOption(new Option('--until <position>', "replay: the topics' current end is the end of input: every open window closes, the results are written, and the command exits 0").choices(['end']))
    .addHelpText(
      'after',
      examples(
        'freshet dataflow run --config dataflow.yaml',
        'freshet -c 127.0.0.1:9103 dataflow run --config df.yaml --http 127.0.0.1:9081',
        'freshet dataflow run --config dataflow.yaml --from beginning --until end   # backfill from history',
      ),
    )
    .action(async (flags: { config: string; dir?: string; http: string; from?: string; until?: string }, command: Command) => {
      if ((flags.from === undefined) !== (flags.until === undefined)) throw usageError('a replay takes both --from beginning and --until end');
      const configPath = path.resolve(flags.config);
      let text: string;
      try {
        text = await readFile(configPath, 'utf8');
      } catch (err) {
        throw usageError(`cannot read ${flags.config}: ${(err as Error).message}`);
      }
      const { parseDataflowYaml } = await import('../../dataflow/yaml.js');
      const { DataflowRuntime } = await import('../../dataflow/runner.js');
      const { startDataflowHttp, StaticHost } = await import('../../dataflow/http.js');
      const { lockStateDir, writeRunInfo } = await import('../../dataflow/store.js');
      let spec;
      try {
        spec = await parseDataflowYaml(text, { baseDir: path.dirname(configPath) });
      } catch (err) {
        throw new CliError(`${flags.config}: ${(err as Error).message}`, ExitCode.USAGE);
      }
      if (flags.until !== undefined) {
        await replay(spec, configPath, command);
        return;
      }
      const dir = path.join(await root(flags), spec.name);
      const unlock = await lockStateDir(dir).catch((err: Error) => {
        throw new CliError(err.message, ExitCode.REFUSED);
      });
      await writeFile(path.join(dir, 'dataflow.yaml'), text);
      const { cluster, profile } = globalOptions(command);
      const { Freshet } = await import('../../client/index.js');
      const client = await Freshet.connect({ ...(cluster ? { endpoint: cluster } : {}), ...(profile ? { profile } : {}), clientId: `dataflow-${spec.name}` });
      const runtime = await DataflowRuntime.start(spec, { client, stateDir: dir, baseDir: path.dirname(configPath) }).catch(async (err: Error) => {
        await client.close();
        await unlock();
        throw err;
      });
      const host = new StaticHost();
      host.add(runtime);
      const [h, p] = flags.http.split(':');
      const http = await startDataflowHttp(host, { host: h, port: Number(p) });
      const info = {
        name: spec.name,
        pid: process.pid,
        http: http.address,
        endpoint: client.endpoint,
        config: configPath,
        services: runtime.services,
        state: 'running' as const,
        startedAt: runtime.startedAt,
      };
      await writeRunInfo(dir, info);
      note(`dataflow "${spec.name}" running (services: ${runtime.services.join(', ')}); state: http://${http.address}/dataflows/${spec.name}/state`);
      let failed: Error | undefined;
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        runtime.done.then(stop, (err: Error) => {
          failed = err;
          stop();
        });
      });
      await runtime.stop();
      await http.close();
      await client.close();
      await writeRunInfo(dir, { ...info, state: failed ? 'failed' : 'stopped', stoppedAt: new Date().toISOString(), ...(failed ? { lastError: failed.message } : {}) });
      await unlock();
      if (failed) throw new CliError(`dataflow "${spec.name}" failed: ${failed.message}`);
      note(`dataflow "${spec.name}" stopped`);
    });

  withNodeOptions(
    dataflow
      .command('create')
      .description('hand a dataflow to the node: it runs it, and starts it again after failures and node restarts, until deleted')
      .requiredOption('--config <file>', 'the dataflow YAML (dataflow.yaml)'),
  )
    .addHelpText('after', examples('freshet dataflow create --config dataflow.yaml', 'freshet dataflow create --config df.yaml --console 127.0.0.1:9080'))
    .action(async (flags: { config: string } & NodeFlags) => {
      let text: string;
      try {
        text = await readFile(path.resolve(flags.config), 'utf8');
      } catch (err) {
        throw usageError(`cannot read ${flags.config}: ${(err as Error).message}`);
      }
      const created = await nodeCall<{ name: string }>(flags, 'POST', '/dataflows', { config: text });
      await printLine(`dataflow "${created.name}" created`);
    });

  withNodeOptions(
    dataflow
      .command('list')
      .description('list dataflows: those run here (state in --dir) and those the node manages')
      .addOption(dirOption())
      .addOption(listFormatOption()),
  )
    .addHelpText('after', examples('freshet dataflow list', 'freshet dataflow list -O json'))
    .action(async (flags: { dir?: string; output: ListFormat } & NodeFlags) => {
      const { listLocalDataflows } = await import('../../dataflow/store.js');
      interface Row {
        name: string;
        where: 'local' | 'node';
        status: string;
        pid: number | null;
        http: string | null;
        services: string[];
        since: string | null;
        dir?: string;
        lastError?: string;
      }
      const rows: Row[] = (await listLocalDataflows(await root(flags))).map((d) => ({
        name: d.name,
        where: 'local',
        status: d.running ? 'running' : d.run?.state === 'running' ? 'stopped (killed)' : (d.run?.state ?? 'stopped'),
        pid: d.running ? d.run!.pid : null,
        http: d.running ? (d.run!.http ?? null) : null,
        services: d.run?.services ?? [],
        since: d.run ? (d.running ? d.run.startedAt : (d.run.stoppedAt ?? d.run.startedAt)) : null,
        dir: d.dir,
      }));
      try {
        const managed = await nodeCall<{ name: string; state: string; services: string[]; startedAt?: string; createdAt?: string; lastError?: string }[]>(flags, 'GET', '/dataflows');
        const { url } = await consoleUrl(flags);
        for (const m of managed) {
          rows.push({
            name: m.name,
            where: 'node',
            status: m.state,
            pid: null,
            http: url.replace(/^https?:\/\//, ''),
            services: m.services ?? [],
            since: m.startedAt ?? m.createdAt ?? null,
            ...(m.lastError ? { lastError: m.lastError } : {}),
          });
        }
      } catch (err) {
        // No node is fine for listing what runs here, unless one was named.
        if (!(err instanceof NoConsoleError) || flags.console !== undefined) throw err;
      }
      await printList(rows, flags.output, {
        header: ['NAME', 'WHERE', 'STATUS', 'PID', 'HTTP', 'SERVICES', 'SINCE'],
        row: (r) => [r.name, r.where, r.status, r.pid === null ? '-' : String(r.pid), r.http ?? '-', r.services.join(','), r.since ?? '-'],
        empty: 'No dataflows found',
      });
    });

  withNodeOptions(
    dataflow
      .command('describe')
      .description('show a dataflow: status, offsets, checkpoint and metrics (from its checkpoint when stopped)')
      .argument('<name>', 'dataflow name (meta.name)')
      .addOption(dirOption())
      .addOption(listFormatOption()),
  )
    .addHelpText('after', examples('freshet dataflow describe price-stats', 'freshet dataflow describe price-stats -O json'))
    .action(async (name: string, flags: { dir?: string; output: ListFormat } & NodeFlags) => {
      const t = await target(flags, name);
      if (t.where === 'node') {
        const status = await nodeCall<Record<string, unknown>>(flags, 'GET', `/dataflows/${encodeURIComponent(name)}`);
        await printObject(statusPairs(name, status, [['Run By', 'the node']]), { ...status, where: 'node' }, flags.output);
        return;
      }
      const found = t.found;
      let status: Record<string, unknown> | undefined;
      if (found.running && found.run?.http) status = (await httpGet(found.run.http, `/dataflows/${encodeURIComponent(name)}`)) as Record<string, unknown>;
      if (!status) {
        const { CheckpointStore } = await import('../../dataflow/checkpoint.js');
        const services = [];
        for (const service of found.run?.services ?? []) {
          const ckpt = await new CheckpointStore(path.join(found.dir, service, 'checkpoints')).latest();
          if (ckpt) services.push({ service, watermark: ckpt.state.watermark.value, inputs: ckpt.inputs, outputs: ckpt.outputs, checkpoint: { seq: ckpt.seq, at: ckpt.createdAt }, metrics: ckpt.state.metrics });
        }
        status = { name, state: found.run?.state ?? 'stopped', services };
      }
      const json = { ...status, where: 'local', dir: found.dir, config: found.run?.config ?? null, pid: found.running ? found.run!.pid : null, http: found.running ? found.run!.http : null };
      const pairs = statusPairs(name, { ...status, state: found.running ? 'running' : status.state }, [
        ['State Dir', found.dir],
        ['Config', found.run?.config ?? '-'],
        ['HTTP', found.running ? (found.run?.http ?? '-') : '-'],
      ]);
      await printObject(pairs, json, flags.output);
    });

  withNodeOptions(
    dataflow
      .command('query')
      .description('current windows and series of a running dataflow: one key, one group, or a summary')
      .argument('<name>', 'dataflow name')
      .option('--key <key>', 'one key: its open windows, recent closed windows with series, its correlations')
      .option('--group <group>', 'one group: the latest window of each key and the correlations within the group')
      .option('--service <service>', 'the service to ask (default: the first with a window)')
      .addOption(dirOption())
      .addOption(listFormatOption()),
  )
    .addHelpText('after', examples('freshet dataflow query price-stats', 'freshet dataflow query price-stats --key p-42', 'freshet dataflow query price-stats --group acme -O json | jq .correlations'))
    .action(async (name: string, flags: { key?: string; group?: string; service?: string; dir?: string; output: ListFormat } & NodeFlags) => {
      if (flags.key !== undefined && flags.group !== undefined) throw usageError('give --key or --group, not both');
      const params = new URLSearchParams();
      if (flags.key !== undefined) params.set('key', flags.key);
      if (flags.group !== undefined) params.set('group', flags.group);
      if (flags.service !== undefined) params.set('service', flags.service);
      const route = `/dataflows/${encodeURIComponent(name)}/state?${params}`;
      const t = await target(flags, name);
      if (t.where === 'node') {
        await printQuery(await nodeCall<Record<string, unknown>>(flags, 'GET', route), flags.output);
        return;
      }
      const found = t.found;
      if (!found.running || !found.run?.http) {
        throw new CliError(`dataflow "${name}" is not running`, ExitCode.NOT_FOUND, `start it with \`freshet dataflow run --config ${found.run?.config ?? 'dataflow.yaml'}\``);
      }
      await printQuery((await httpGet(found.run.http, route)) as Record<string, unknown>, flags.output);
    });

  withNodeOptions(
    dataflow
      .command('sql')
      .description("one read-only SELECT over a running dataflow's state, in DuckDB: tables windows, open_windows, correlations")
      .argument('<name>', 'dataflow name')
      .argument('<query>', 'SELECT …')
      .option('--service <service>', 'the service to ask (default: the first with a window)')
      .addOption(dirOption())
      .addOption(listFormatOption()),
  )
    .addHelpText(
      'after',
      examples(
        `freshet dataflow sql price-stats "SELECT key, sum(n) FROM windows GROUP BY key ORDER BY 2 DESC LIMIT 10"`,
        `freshet dataflow sql price-stats "SELECT a, b, r, p FROM correlations WHERE n >= 5 ORDER BY abs(r) DESC" -O json`,
      ),
    )
    .action(async (name: string, query: string, flags: { service?: string; dir?: string; output: ListFormat } & NodeFlags) => {
      const body = { query, ...(flags.service !== undefined ? { service: flags.service } : {}) };
      const route = `/dataflows/${encodeURIComponent(name)}/sql`;
      const t = await target(flags, name);
      let result: { columns: string[]; rows: unknown[][]; truncated: boolean };
      if (t.where === 'node') {
        result = await nodeCall(flags, 'POST', route, body);
      } else {
        const found = t.found;
        if (!found.running || !found.run?.http) {
          throw new CliError(`dataflow "${name}" is not running`, ExitCode.NOT_FOUND, `start it with \`freshet dataflow run --config ${found.run?.config ?? 'dataflow.yaml'}\``);
        }
        result = (await httpGet(found.run.http, route, body)) as typeof result;
      }
      const out = stdoutWriter();
      if (flags.output === 'json') {
        await out.write(jsonLine(result));
      } else {
        await out.write(renderTable(result.columns.map((c) => c.toUpperCase()), result.rows.map((row) => row.map(cell)), { style: styleFor(process.stdout) }));
        if (result.truncated) note(`only the first ${result.rows.length} rows`);
      }
      await out.flush();
    });

  withNodeOptions(
    dataflow
      .command('stop')
      .description('stop a running dataflow (it writes a last checkpoint; `run`, or `start` for the node\'s, resumes it)')
      .argument('<name>', 'dataflow name')
      .addOption(dirOption()),
  )
    .addHelpText('after', examples('freshet dataflow stop price-stats'))
    .action(async (name: string, flags: { dir?: string } & NodeFlags) => {
      const t = await target(flags, name);
      if (t.where === 'node') {
        await nodeCall(flags, 'POST', `/dataflows/${encodeURIComponent(name)}/stop`);
        await printLine(`dataflow "${name}" stopped`);
        return;
      }
      const found = t.found;
      if (!found.running) {
        note(`dataflow "${name}" is not running`);
        return;
      }
      process.kill(found.run!.pid, 'SIGTERM');
      if (!(await waitForExit(found.run!.pid, 30_000))) throw new CliError(`dataflow "${name}" (pid ${found.run!.pid}) did not stop within 30 s`);
      await printLine(`dataflow "${name}" stopped`);
    });

  withNodeOptions(
    dataflow
      .command('start')
      .description('start again a dataflow the node runs, after `stop` (it resumes from its checkpoint)')
      .argument('<name>', 'dataflow name'),
  )
    .addHelpText('after', examples('freshet dataflow start price-stats'))
    .action(async (name: string, flags: NodeFlags) => {
      await nodeCall(flags, 'POST', `/dataflows/${encodeURIComponent(name)}/start`);
      await printLine(`dataflow "${name}" started`);
    });

  withNodeOptions(
    dataflow
      .command('delete')
      .description('stop a dataflow and delete its state (checkpoints); its topics stay')
      .argument('<name>', 'dataflow name')
      .addOption(dirOption()),
  )
    .addHelpText('after', examples('freshet dataflow delete price-stats'))
    .action(async (name: string, flags: { dir?: string } & NodeFlags) => {
      const t = await target(flags, name);
      if (t.where === 'node') {
        await nodeCall(flags, 'DELETE', `/dataflows/${encodeURIComponent(name)}`);
        await printLine(`dataflow "${name}" deleted`);
        return;
      }
      const found = t.found;
      if (found.running) {
        process.kill(found.run!.pid, 'SIGTERM');
        if (!(await waitForExit(found.run!.pid, 30_000))) throw new CliError(`dataflow "${name}" (pid ${found.run!.pid}) did not stop within 30 s`);
      }
      await rm(found.dir, { recursive: true, force: true });
      await printLine(`dataflow "${name}" deleted`);
    });

  return dataflow;
}
