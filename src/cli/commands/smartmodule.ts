// `freshet smartmodule` (alias `sm`): write SmartModules in TypeScript
// syntax with the AssemblyScript SDK, build and test them locally, and
// register them with a node, as `smdk` and `fluvio smartmodule` do:
//
//   generate <name> --kind K   scaffold a project (package.json, asconfig.json, src/index.ts, README)
//   build [path]               compile it to a .wasm (the path is printed)
//   test                       run a .wasm (ours or Fluvio-built), a registered module or a built-in over text lines
//   create|load <name>         register a .wasm with the node
//   list, delete               registered SmartModules

import { readFile } from 'node:fs/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Freshet, SmartModuleInfo } from '../../client/index.js';
import type { RegisteredLookup } from '../../smartengine/resolver.js';
import type { LocalModule, SdkKind, TransformStep } from '../../smartengine/sdk/index.js';
import { connect, withClient } from '../context.js';
import { CliError, ExitCode, usageError } from '../output/errors.js';
import { examples, listFormatOption, note, printLine, printList, type ListFormat } from '../output/format.js';
import { collect, formatBytes } from '../output/units.js';
import { stdoutWriter } from '../output/writer.js';

const KINDS = 'filter, map, filter-map, array-map, aggregate';

function kindArg(text: string): SdkKind {
  const kinds = ['filter', 'map', 'filter-map', 'array-map', 'aggregate'];
  const plain = text.trim().toLowerCase().replace(/_/g, '-');
  const kind = plain === 'filtermap' ? 'filter-map' : plain === 'arraymap' ? 'array-map' : plain;
  if (!kinds.includes(kind)) throw new InvalidArgumentError(`expected one of ${KINDS}`);
  return kind as SdkKind;
}

function paramArg(text: string): [string, string] {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`expected KEY=VALUE, got "${text}"`);
  return [text.slice(0, eq), text.slice(eq + 1)];
}

async function readWasm(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(`cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`, code === 'ENOENT' ? ExitCode.NOT_FOUND : ExitCode.ERROR);
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function lines(text: string): string[] {
  const out = text.split('\n').map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
  if (out.length > 0 && out[out.length - 1] === '') out.pop();
  return out;
}

function isConnectionFailure(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'NO_NODE' || code === 'CONNECTION' || code === 'TIMEOUT';
}

/**
 * The SmartModules registered on the node the global options point at,
 * looked up over one connection for every step. A node that does not
 * answer has nothing registered: built-ins still run without one.
 */
function nodeRegistry(command: Command): { lookup: RegisteredLookup; unreachable(): Error | undefined; close(): Promise<void> } {
  let client: Promise<Freshet | undefined> | undefined;
  let unreachable: Error | undefined;
  const reach = () =>
    (client ??= connect(command).catch((err: unknown) => {
      if (!isConnectionFailure(err)) throw err;
      unreachable = err as Error;
      return undefined;
    }));
  return {
    lookup: async (name) => (await reach())?.admin.getSmartModule(name),
    unreachable: () => unreachable,
    async close() {
      await (await client?.catch(() => undefined))?.close();
    },
  };
}

/** A `--transforms-line` step's module, resolved as on the node: registered first, then built-in. */
async function stepModule(step: TransformStep, registry: ReturnType<typeof nodeRegistry>): Promise<LocalModule> {
  const [{ resolveSmartModule }, { BUILTIN_NAMES }] = await Promise.all([import('../../smartengine/resolver.js'), import('../../smartengine/builtins.js')]);
  let resolved;
  try {
    resolved = await resolveSmartModule(step.uses, registry.lookup);
  } catch (err) {
    if (isConnectionFailure(err)) throw new CliError(`the node stopped answering while looking up SmartModule ${step.uses}: ${(err as Error).message}`, ExitCode.NO_NODE);
    throw new CliError((err as Error).message, ExitCode.ERROR);
  }
  if (resolved) return { wasm: resolved.wasm, name: resolved.name, params: step.with };
  const unreachable = registry.unreachable();
  if (unreachable) throw new CliError(`SmartModule ${step.uses} is not a built-in, and no node answered to look it up: ${unreachable.message}`, ExitCode.NO_NODE);
  throw new CliError(
    `SmartModule ${step.uses} was not found: it is not a built-in (${BUILTIN_NAMES.join(', ')}) nor registered with the node; pass a .wasm with --wasm-file`,
    ExitCode.NOT_FOUND,
  );
}

interface TestFlags {
  wasmFile?: string;
  transformsLine?: string[];
  text?: string;
  file?: string;
  stdin?: boolean;
  raw?: boolean;
  key?: string;
  keyValue?: boolean;
  params?: [string, string][];
  kind?: SdkKind;
  aggregateInitial?: string;
  verbose?: boolean;
}

async function runTest(flags: TestFlags, command: Command): Promise<void> {
  const sdk = await import('../../smartengine/sdk/index.js');
  if (!flags.wasmFile && !(flags.transformsLine && flags.transformsLine.length > 0)) {
    throw usageError('nothing to run', 'give --wasm-file FILE.wasm, or --transforms-line \'{"uses":"infinyon/jolt@0.4.1","with":{...}}\'');
  }
  const sources = [flags.text !== undefined, flags.file !== undefined, flags.stdin === true].filter(Boolean).length;
  if (sources !== 1) throw usageError('give the input records with exactly one of --text, --file or --stdin');
  if (flags.raw && flags.text !== undefined) throw usageError('--raw goes with --file or --stdin');

  const modules: LocalModule[] = [];
  if (flags.wasmFile) {
    const wasm = await readWasm(flags.wasmFile);
    try {
      sdk.moduleKind(wasm, flags.kind);
    } catch (err) {
      throw new CliError(`${flags.wasmFile}: ${(err as Error).message}`, ExitCode.ERROR);
    }
    const module: LocalModule = { wasm, name: flags.wasmFile.replace(/^.*[/\\]/, '').replace(/\.wasm$/, '') };
    if (flags.params?.length) module.params = Object.fromEntries(flags.params);
    if (flags.aggregateInitial !== undefined) module.accumulator = Buffer.from(flags.aggregateInitial);
    modules.push(module);
  } else if (flags.params?.length) {
    throw usageError('-e/--params go with --wasm-file; a transform takes its params from "with"');
  }
  const steps = (flags.transformsLine ?? []).map((line) => {
    try {
      return sdk.parseTransformStep(line);
    } catch (err) {
      throw usageError(`--transforms-line: ${(err as Error).message}`);
    }
  });
  if (steps.length > 0) {
    const registry = nodeRegistry(command);
    try {
      for (const step of steps) modules.push(await stepModule(step, registry));
    } finally {
      await registry.close();
    }
  }

  let values: string[];
  if (flags.text !== undefined) values = [flags.text];
  else {
    let text: string;
    if (flags.file !== undefined) {
      try {
        text = await readFile(flags.file, 'utf8');
      } catch (err) {
        throw new CliError(`cannot read ${flags.file}: ${(err as Error).message}`, ExitCode.NOT_FOUND);
      }
    } else text = await readStdin();
    values = flags.raw ? [text] : lines(text);
  }
  const key = flags.key === undefined ? null : Buffer.from(flags.key);
  const records = values.map((value) => ({ key, value: Buffer.from(value) }));

  let result;
  try {
    result = await sdk.runLocal(modules, records);
  } catch (err) {
    throw new CliError((err as Error).message, ExitCode.ERROR);
  }
  const out = stdoutWriter();
  if (flags.verbose) await out.write(`${result.records.length} records outputted\n`);
  for (const record of result.records) {
    const value = record.value.toString('utf8');
    await out.write(flags.keyValue ? `[${record.key === null ? 'null' : record.key.toString('utf8')}] ${value}\n` : `${value}\n`);
  }
  await out.flush();
  if (result.error) throw new CliError(result.error.message, ExitCode.ERROR);
}

function smartModuleRow(sm: SmartModuleInfo): string[] {
  return [sm.packageId ?? sm.name, sm.wasmLength === undefined ? '-' : formatBytes(sm.wasmLength)];
}

export function smartmoduleCommand(): Command {
  const sm = new Command('smartmodule')
    .alias('sm')
    .description('write, build, test and register SmartModules (WebAssembly transforms)')
    .addHelpText(
      'after',
      examples(
        'freshet sm generate my-filter --kind filter',
        'freshet sm build my-filter',
        "freshet sm test --wasm-file my-filter/build/my-filter.wasm --text 'apple' -e term=a",
        'freshet sm create my-filter --wasm-file my-filter/build/my-filter.wasm',
        'freshet consume events -B --smartmodule my-filter',
      ),
    );

  sm.command('generate')
    .description('create a SmartModule project written with the AssemblyScript SDK (TypeScript syntax)')
    .argument('<name>', 'project and SmartModule name: lowercase letters, digits and -')
    .addOption(new Option('--kind <kind>', `the transform: ${KINDS}`).argParser(kindArg).default('filter'))
    .option('-d, --dir <dir>', 'project directory (default: ./<name>)')
    .addHelpText('after', examples('freshet sm generate keep-errors --kind filter', 'freshet sm generate to-upper --kind map --dir ./sm/to-upper'))
    .action(async (name: string, flags: { kind: SdkKind; dir?: string }) => {
      const { generateProject } = await import('../../smartengine/sdk/index.js');
      let result;
      try {
        result = await generateProject({ name, kind: flags.kind, ...(flags.dir ? { dir: flags.dir } : {}) });
      } catch (err) {
        throw usageError((err as Error).message);
      }
      await printLine(`SmartModule project "${name}" (${flags.kind}) created in ${result.dir}`);
      note(`next: freshet sm build ${flags.dir ?? name}`);
    });

  sm.command('build')
    .description('compile a SmartModule project (or one .ts file) to a .wasm; prints its path')
    .argument('[path]', 'project directory or source file', '.')
    .option('-o, --out <file>', 'output file (default: <project>/build/<name>.wasm)')
    .addOption(new Option('--kind <kind>', `which transform to build when the source exports several: ${KINDS}`).argParser(kindArg))
    .option('--optimize-level <0-3>', 'AssemblyScript optimize level (default: asconfig.json, else 2)')
    .addHelpText('after', examples('freshet sm build', 'freshet sm build my-filter -o my-filter.wasm', 'freshet sm build filter.ts'))
    .action(async (target: string, flags: { out?: string; kind?: SdkKind; optimizeLevel?: string }) => {
      const { buildProject, AscCompileError, stopCompiler } = await import('../../smartengine/sdk/index.js');
      const options: { optimizeLevel?: number } = {};
      if (flags.optimizeLevel !== undefined) {
        const level = Number(flags.optimizeLevel);
        if (!Number.isInteger(level) || level < 0 || level > 3) throw usageError('--optimize-level: expected 0, 1, 2 or 3');
        options.optimizeLevel = level;
      }
      try {
        const result = await buildProject({ path: target, ...(flags.out ? { out: flags.out } : {}), ...(flags.kind ? { kind: flags.kind } : {}), options });
        if (result.warnings) note(result.warnings);
        note(`built ${result.exports.kind} SmartModule ${result.name} (${formatBytes(result.wasm.length)}, ${Math.round(result.compileMs)} ms)`);
        await printLine(result.outFile);
      } catch (err) {
        if (err instanceof AscCompileError) throw new CliError(err.message, ExitCode.ERROR);
        throw new CliError((err as Error).message, ExitCode.ERROR);
      } finally {
        await stopCompiler();
      }
    });

  sm.command('test')
    .description('run a SmartModule locally over input records (no node needed): a .wasm, ours or Fluvio-built, or a built-in')
    .option('--wasm-file <file>', 'the SmartModule .wasm')
    .addOption(
      new Option('--transforms-line <json>', 'a transform step {"uses":"infinyon/jolt@0.4.1","with":{...}}: registered on the node (when one answers), else a built-in, as the node resolves it; repeatable, runs after --wasm-file')
        .argParser(collect((text: string) => text)),
    )
    .option('--text <text>', 'one input record')
    .option('--file <file>', 'input records, one per line (the whole file with --raw)')
    .option('--stdin', 'input records from stdin, one per line (all of it with --raw)')
    .option('--raw', 'the whole --file / --stdin is one record')
    .option('--key <key>', 'key of every input record')
    .option('-k, --key-value', 'print [key] value')
    .addOption(new Option('-e, --params <key=value>', 'init params of --wasm-file (repeatable)').argParser(collect(paramArg)))
    .addOption(new Option('--kind <kind>', `the transform the module must be: ${KINDS} (default: from its exports)`).argParser(kindArg))
    .option('--aggregate-initial <value>', 'initial accumulator of an aggregate')
    .option('-v, --verbose', 'print "<n> records outputted" first')
    .addHelpText(
      'after',
      examples(
        "freshet sm test --wasm-file build/my-filter.wasm --text 'apple'",
        'freshet sm test --wasm-file build/my-filter.wasm --file records.txt -e term=ban',
        'freshet sm test --wasm-file build/sum.wasm --kind aggregate --aggregate-initial 10 --file numbers.txt',
        `freshet sm test --transforms-line '{"uses":"infinyon/jolt@0.4.1","with":{"spec":[{"operation":"shift","spec":{"*":"data.&"}}]}}' --text '{"a":1}'`,
      ),
    )
    .action(async (flags: TestFlags, command: Command) => {
      await runTest(flags, command);
    });

  sm.command('create')
    .alias('load')
    .description('register a SmartModule with the node')
    .argument('<name>', 'name to register it under')
    .requiredOption('--wasm-file <file>', 'the SmartModule .wasm')
    .addHelpText('after', examples('freshet sm create my-filter --wasm-file build/my-filter.wasm'))
    .action(async (name: string, flags: { wasmFile: string }, command: Command) => {
      const wasm = await readWasm(flags.wasmFile);
      await withClient(command, (freshet) => freshet.admin.createSmartModule(name, wasm));
      await printLine(`smartmodule "${name}" has been created.`);
    });

  sm.command('list')
    .description('list the SmartModules registered with the node')
    .addOption(listFormatOption())
    .addHelpText('after', examples('freshet sm list', 'freshet sm list -O json'))
    .action(async (flags: { output: ListFormat }, command: Command) => {
      const modules = await withClient(command, (freshet) => freshet.admin.listSmartModules());
      await printList(modules, flags.output, { header: ['SMARTMODULE', 'SIZE'], row: smartModuleRow, right: [1], empty: 'no smartmodules' });
    });

  sm.command('delete')
    .description('delete registered SmartModules')
    .argument('<names...>', 'SmartModule names')
    .option('-c, --continue-on-error', 'go on with the others when one fails')
    .addHelpText('after', examples('freshet sm delete my-filter'))
    .action(async (names: string[], flags: { continueOnError?: boolean }, command: Command) => {
      let failed = false;
      await withClient(command, async (freshet) => {
        for (const name of names) {
          try {
            await freshet.admin.deleteSmartModule(name);
            await printLine(`smartmodule "${name}" deleted`);
          } catch (err) {
            if (!flags.continueOnError) throw err;
            failed = true;
            process.stderr.write(`smart module "${name}" delete failed with: ${(err as Error).message}\n`);
          }
        }
      });
      if (failed) throw new CliError('Failed deleting smart module(s). Check previous errors.', ExitCode.ERROR);
    });

  return sm;
}
