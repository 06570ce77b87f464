// `freshet dataflow run|list|describe|stop|delete|query`: stateful dataflows
// (docs/dataflows.md). `run` runs one in the foreground (as `sdf run` does)
// with its state under --dir (FRESHET_DATAFLOW_DIR, ~/.freshet/dataflows)
// and an HTTP endpoint the other commands (and the console) read.

import path from 'node:path';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import { globalOptions } from '../context.js';
import { CliError, ExitCode, notFoundError, usageError } from '../output/errors.js';
import { examples, listFormatOption, note, printLine, printList, printObject, jsonLine, type ListFormat } from '../output/format.js';
import { renderTable } from '../output/table.js';
import { styleFor } from '../output/colour.js';
import { stdoutWriter } from '../output/writer.js';
import type { LocalDataflow } from '../../dataflow/store.js';

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

async function find(flags: { dir?: string }, name: string): Promise<LocalDataflow> {
  const { localDataflow } = await import('../../dataflow/store.js');
  const found = await localDataflow(await root(flags), name);
  if (!found) throw notFoundError(`no dataflow named "${name}" in ${await root(flags)}`, 'see them with `freshet dataflow list`; start one with `freshet dataflow run --config dataflow.yaml`');
  return found;
}

async function httpGet(address: string, pathname: string): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(`http://${address}${pathname}`, { signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    throw new CliError(`the dataflow's endpoint at ${address} does not answer: ${(err as Error).message}`, ExitCode.NO_NODE, 'is it running? `freshet dataflow list`');
  }
  const body = (await response.json()) as { error?: string };
  if (!response.ok) throw new CliError(body.error ?? `HTTP ${response.status}`, response.status === 404 ? ExitCode.NOT_FOUND : ExitCode.ERROR);
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
  series?: Record<string, unknown>;
  closed?: boolean;
}

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
    const seriesNames = ['delta', 'pctChange', 'rollingMean'].filter((n) => rows.some((r) => r.series && n in r.series));
    if (rows.length > 0) {
      lines.push(
        renderTable(
          ['WINDOW START', 'WINDOW END', 'STATE', ...valueNames.map((n) => n.toUpperCase()), ...seriesNames.map((n) => n.toUpperCase())],
          rows.map((r) => [time(r.windowStart), time(r.windowEnd), r.state, ...valueNames.map((n) => cell(r.values[n])), ...seriesNames.map((n) => cell(r.series?.[n]))]),
          { style },
        ),
      );
    } else lines.push(' no windows for this key\n');
  } else if ('group' in result) {
    lines.push(` group ${String(result.group)}  watermark ${time(result.watermark)}\n`);
    const keys = result.keys as { key: string; closed: WindowView[]; open: WindowView[] }[];
    const latest = keys.map((k) => ({ key: k.key, w: k.closed.at(-1) }));
    const valueNames = [...new Set(latest.flatMap((l) => Object.keys(l.w?.values ?? {})))];
    lines.push(
      renderTable(
        ['KEY', 'LAST WINDOW', ...valueNames.map((n) => n.toUpperCase()), 'DELTA', 'PCT CHANGE'],
        latest.map((l) => [l.key, time(l.w?.windowStart), ...valueNames.map((n) => cell(l.w?.values[n])), cell(l.w?.series?.delta), cell(l.w?.series?.pctChange)]),
        { style },
      ),
    );
  }
  const correlations = result.correlations as { a: string; b: string; windowStart: number; n: number; r: number | null }[] | undefined;
  if (correlations && correlations.length > 0) {
    lines.push('\n');
    lines.push(renderTable(['A', 'B', 'WINDOW', 'POINTS', 'PEARSON R'], correlations.map((c) => [c.a, c.b, time(c.windowStart), String(c.n), cell(c.r)]), { style }));
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

async function waitForExit(pid: number, ms: number): Promise<boolean> {
  const { processAlive } = await import('../../dataflow/store.js');
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
    .addHelpText('after', examples('freshet dataflow run --config dataflow.yaml', 'freshet -c 127.0.0.1:9103 dataflow run --config df.yaml --http 127.0.0.1:9081'))
    .action(async (flags: { config: string; dir?: string; http: string }, command: Command) => {
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

  dataflow
    .command('list')
    .description('list the dataflows with state in --dir')
    .addOption(dirOption())
    .addOption(listFormatOption())
    .addHelpText('after', examples('freshet dataflow list', 'freshet dataflow list -O json'))
    .action(async (flags: { dir?: string; output: ListFormat }) => {
      const { listLocalDataflows } = await import('../../dataflow/store.js');
      const items = await listLocalDataflows(await root(flags));
      await printList(items, flags.output, {
        header: ['NAME', 'STATUS', 'PID', 'HTTP', 'SERVICES', 'SINCE'],
        row: (d) => [d.name, d.running ? 'running' : (d.run?.state === 'running' ? 'stopped (killed)' : (d.run?.state ?? 'stopped')), d.running ? String(d.run!.pid) : '-', d.running ? (d.run!.http ?? '-') : '-', (d.run?.services ?? []).join(','), d.run ? (d.running ? d.run.startedAt : (d.run.stoppedAt ?? d.run.startedAt)) : '-'],
        json: (d) => ({ name: d.name, status: d.running ? 'running' : (d.run?.state ?? 'stopped'), pid: d.running ? d.run!.pid : null, http: d.running ? d.run!.http : null, services: d.run?.services ?? [], dir: d.dir }),
        empty: 'No dataflows found',
      });
    });

  dataflow
    .command('describe')
    .description('show a dataflow: definition, status, offsets, checkpoint and metrics')
    .argument('<name>', 'dataflow name (meta.name)')
    .addOption(dirOption())
    .addOption(listFormatOption())
    .addHelpText('after', examples('freshet dataflow describe price-stats', 'freshet dataflow describe price-stats -O json'))
    .action(async (name: string, flags: { dir?: string; output: ListFormat }) => {
      const found = await find(flags, name);
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
      const json = { ...status, dir: found.dir, config: found.run?.config ?? null, pid: found.running ? found.run!.pid : null, http: found.running ? found.run!.http : null };
      const pairs: [string, string][] = [
        ['Name', name],
        ['Status', found.running ? 'running' : String(status.state)],
        ['State Dir', found.dir],
        ['Config', found.run?.config ?? '-'],
        ['HTTP', found.running ? (found.run?.http ?? '-') : '-'],
      ];
      for (const s of (status.services as { service: string; watermark: number | null; inputs: { topic: string; partition: number; next: number }[]; checkpoint: { seq: number; at: string | null }; metrics: Record<string, unknown> }[]) ?? []) {
        pairs.push([`${s.service}: watermark`, time(s.watermark)]);
        pairs.push([`${s.service}: inputs`, s.inputs.map((i) => `${i.topic}/${i.partition}@${i.next}`).join(' ')]);
        pairs.push([`${s.service}: checkpoint`, `#${s.checkpoint.seq} at ${s.checkpoint.at ?? '-'}`]);
        const m = s.metrics;
        pairs.push([`${s.service}: records`, `${cell(m.records)} in, ${cell(m.failed)} failed, ${cell(m.filtered)} filtered, ${cell(m.late)} late`]);
        pairs.push([`${s.service}: results`, `${cell(m.windowsClosed)} windows closed, ${cell(m.windowResults)} window results, ${cell(m.correlations)} correlations`]);
      }
      await printObject(pairs, json, flags.output);
    });

  dataflow
    .command('query')
    .description('current windows and series of a running dataflow: one key, one group, or a summary')
    .argument('<name>', 'dataflow name')
    .option('--key <key>', 'one key: its open windows, recent closed windows with series, its correlations')
    .option('--group <group>', 'one group: the latest window of each key and the correlations within the group')
    .option('--service <service>', 'the service to ask (default: the first with a window)')
    .addOption(dirOption())
    .addOption(listFormatOption())
    .addHelpText('after', examples('freshet dataflow query price-stats', 'freshet dataflow query price-stats --key p-42', 'freshet dataflow query price-stats --group acme -O json | jq .correlations'))
    .action(async (name: string, flags: { key?: string; group?: string; service?: string; dir?: string; output: ListFormat }) => {
      if (flags.key !== undefined && flags.group !== undefined) throw usageError('give --key or --group, not both');
      const found = await find(flags, name);
      if (!found.running || !found.run?.http) throw new CliError(`dataflow "${name}" is not running`, ExitCode.NOT_FOUND, `start it with \`freshet dataflow run --config ${found.run?.config ?? 'dataflow.yaml'}\``);
      const params = new URLSearchParams();
      if (flags.key !== undefined) params.set('key', flags.key);
      if (flags.group !== undefined) params.set('group', flags.group);
      if (flags.service !== undefined) params.set('service', flags.service);
      const result = (await httpGet(found.run.http, `/dataflows/${encodeURIComponent(name)}/state?${params}`)) as Record<string, unknown>;
      await printQuery(result, flags.output);
    });

  dataflow
    .command('stop')
    .description('stop a running dataflow (it writes a last checkpoint; `run` resumes it)')
    .argument('<name>', 'dataflow name')
    .addOption(dirOption())
    .addHelpText('after', examples('freshet dataflow stop price-stats'))
    .action(async (name: string, flags: { dir?: string }) => {
      const found = await find(flags, name);
      if (!found.running) {
        note(`dataflow "${name}" is not running`);
        return;
      }
      process.kill(found.run!.pid, 'SIGTERM');
      if (!(await waitForExit(found.run!.pid, 30_000))) throw new CliError(`dataflow "${name}" (pid ${found.run!.pid}) did not stop within 30 s`);
      await printLine(`dataflow "${name}" stopped`);
    });

  dataflow
    .command('delete')
    .description('stop a dataflow and delete its state (checkpoints); its topics stay')
    .argument('<name>', 'dataflow name')
    .addOption(dirOption())
    .addHelpText('after', examples('freshet dataflow delete price-stats'))
    .action(async (name: string, flags: { dir?: string }) => {
      const found = await find(flags, name);
      if (found.running) {
        process.kill(found.run!.pid, 'SIGTERM');
        if (!(await waitForExit(found.run!.pid, 30_000))) throw new CliError(`dataflow "${name}" (pid ${found.run!.pid}) did not stop within 30 s`);
      }
      await rm(found.dir, { recursive: true, force: true });
      await printLine(`dataflow "${name}" deleted`);
    });

  return dataflow;
}
