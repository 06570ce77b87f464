// SmartModule projects written with the SDK: `freshet sm generate` writes
// one, `freshet sm build` compiles it.
//
// A project is a directory with package.json ("smartmodule": {"kind",
// "source"}), asconfig.json (build options: optimizeLevel, shrinkLevel,
// noAssert, debug, runtime), src/index.ts exporting the typed functions, a
// README, .gitignore and a tsconfig.json for editors (AssemblyScript's types
// and this installation's SDK). The build writes build/<name>.wasm.

import { existsSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileEntry, SDK_ASSEMBLY_DIR, type AscBuildOptions } from './asc.js';
import { entrySource, SDK_KINDS, sourceExports, type SdkKind, type SourceExports } from './entry.js';

export { SDK_KINDS, type SdkKind } from './entry.js';

/** Parses a kind as users spell it: filter, map, filter-map / filter_map / filterMap, array-map, aggregate. */
export function parseSdkKind(text: string): SdkKind | undefined {
  const plain = text.trim().toLowerCase().replace(/[_\s]/g, '-');
  const kind = plain === 'filtermap' ? 'filter-map' : plain === 'arraymap' ? 'array-map' : plain;
  return (SDK_KINDS as readonly string[]).includes(kind) ? (kind as SdkKind) : undefined;
}

// ---- generate ---------------------------------------------------------------------

/** AssemblyScript's tsconfig for sources (its types: i32, load<T>, ...), in this installation. */
const ASC_STD_CONFIG = fileURLToPath(new URL('../../../node_modules/assemblyscript/std/assembly.json', import.meta.url));

const TEMPLATES: Record<SdkKind, string> = {
  filter: `import { Params, Record } from "@freshet/smartmodule";

let term = "a";

// Optional: params from \`with:\` in a transform or \`-e term=...\` on the command line.
export function init(params: Params): void {
  term = params.getOr("term", "a");
}

// Keeps the records whose value contains the term.
export function filter(record: Record): bool {
  return record.valueString().includes(term);
}
`,
  map: `import { Record } from "@freshet/smartmodule";

// Upper-cases each value; the key is kept.
export function map(record: Record): Record {
  return record.withValue(record.valueString().toUpperCase());
}
`,
  'filter-map': `import { Record, fail } from "@freshet/smartmodule";

// Halves even integers and drops odd ones; a value that is not an integer
// fails the record (the error carries its offset).
export function filterMap(record: Record): Record | null {
  const text = record.valueString();
  const n = I64.parseInt(text, 10);
  if (text.length == 0 || n.toString() != text) {
    fail("invalid digit found in string");
    return null;
  }
  if (n % 2 != 0) return null;
  return record.withValue((n / 2).toString());
}
`,
  'array-map': `import { Record, fail, parseJsonBytes } from "@freshet/smartmodule";

// One record per element of a JSON array value.
export function arrayMap(record: Record): Record[] {
  const out = new Array<Record>();
  const parsed = parseJsonBytes(record.value);
  if (!parsed.ok) {
    fail(parsed.error);
    return out;
  }
  const array = parsed.value!;
  if (!array.isArray()) {
    fail("expected a JSON array");
    return out;
  }
  for (let i = 0; i < array.items.length; i++) out.push(Record.create(array.items[i].stringify()));
  return out;
}
`,
  aggregate: `import { Record, fail } from "@freshet/smartmodule";

// A running sum of integer values; each output record carries the sum so far.
// The accumulator (a string here, or a Uint8Array) lives as long as the stream.
export function aggregate(accumulator: string, record: Record): string {
  const sum = accumulator.length > 0 ? I64.parseInt(accumulator, 10) : 0;
  const text = record.valueString();
  const n = I64.parseInt(text, 10);
  if (n.toString() != text) {
    fail("invalid digit found in string");
    return accumulator;
  }
  return (sum + n).toString();
}
`,
};

const SAMPLE_INPUT: Record<SdkKind, string> = {
  filter: 'apple',
  map: 'apple',
  'filter-map': '42',
  'array-map': '["a","b"]',
  aggregate: '5',
};

export interface GenerateOptions {
  name: string;
  kind: SdkKind;
  /** Project directory (default: ./<name>). */
  dir?: string;
}

export interface GenerateResult {
  dir: string;
  files: string[];
}

/** Names as Fluvio's resource names: lowercase letters, digits and '-', starting with a letter or digit. */
export function validateProjectName(name: string): void {
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(name)) {
    throw new Error(`invalid SmartModule name "${name}": use lowercase letters, digits and '-' (at most 63)`);
  }
}

/** Writes a new project. Refuses a directory that exists and is not empty. */
export async function generateProject(opts: GenerateOptions): Promise<GenerateResult> {
  validateProjectName(opts.name);
  const dir = path.resolve(opts.dir ?? opts.name);
  if (existsSync(dir)) {
    const info = await stat(dir);
    if (!info.isDirectory()) throw new Error(`${dir} exists and is not a directory`);
    const { readdir } = await import('node:fs/promises');
    if ((await readdir(dir)).length > 0) throw new Error(`${dir} exists and is not empty`);
  }
  const kindFn = { filter: 'filter', map: 'map', 'filter-map': 'filterMap', 'array-map': 'arrayMap', aggregate: 'aggregate' }[opts.kind];
  const files: Record<string, string> = {
    'package.json':
      JSON.stringify(
        {
          name: opts.name,
          version: '0.1.0',
          private: true,
          description: `${opts.kind} SmartModule written with the Freshet SDK (AssemblyScript)`,
          type: 'module',
          smartmodule: { kind: opts.kind, source: 'src/index.ts' },
          scripts: {
            build: 'freshet sm build',
            test: `freshet sm test --wasm-file build/${opts.name}.wasm --text '${SAMPLE_INPUT[opts.kind]}'`,
          },
        },
        null,
        2,
      ) + '\n',
    'asconfig.json': JSON.stringify({ options: { optimizeLevel: 2, shrinkLevel: 0, noAssert: false, runtime: 'incremental' } }, null, 2) + '\n',
    'src/index.ts': TEMPLATES[opts.kind],
    // for editors only (the build does not read it): AssemblyScript's types and the SDK of this installation
    'tsconfig.json':
      JSON.stringify(
        {
          extends: ASC_STD_CONFIG,
          compilerOptions: { paths: { '@freshet/smartmodule': [path.join(SDK_ASSEMBLY_DIR, 'index.ts')], '*': [path.join(path.dirname(ASC_STD_CONFIG), 'assembly', '*')] } },
          include: ['src/**/*.ts'],
        },
        null,
        2,
      ) + '\n',
    '.gitignore': 'build/\nnode_modules/\n',
    'README.md': `# ${opts.name}

A **${opts.kind}** SmartModule for Freshet and Fluvio, written in AssemblyScript (TypeScript
syntax) with the Freshet SDK (\`@freshet/smartmodule\`). \`src/index.ts\` exports \`${kindFn}\`.

\`\`\`sh
freshet sm build                                                       # -> build/${opts.name}.wasm
freshet sm test --wasm-file build/${opts.name}.wasm --text '${SAMPLE_INPUT[opts.kind]}'    # run it locally, no node needed
freshet sm create ${opts.name} --wasm-file build/${opts.name}.wasm                # register it with a node
freshet consume my-topic -B --smartmodule ${opts.name}                 # use it
\`\`\`

The .wasm speaks Fluvio's SmartModule ABI: Fluvio clusters run it too
(\`fluvio smartmodule create ${opts.name} --wasm-file build/${opts.name}.wasm\`).
Build options live in \`asconfig.json\` (\`optimizeLevel\`, \`shrinkLevel\`, \`noAssert\`, \`debug\`).
See Freshet's docs/smartmodules.md for the SDK's API.
`,
  };
  await mkdir(path.join(dir, 'src'), { recursive: true });
  for (const [file, text] of Object.entries(files)) await writeFile(path.join(dir, file), text);
  return { dir, files: Object.keys(files) };
}

// ---- build ------------------------------------------------------------------------

export interface BuildProjectOptions {
  /** A project directory, or a source file (default: the current directory). */
  path?: string;
  /** Output .wasm (default: <project>/build/<name>.wasm). */
  out?: string;
  /** The transform to build when the source exports several. */
  kind?: SdkKind;
  /** Overrides of asconfig.json's options. */
  options?: AscBuildOptions;
}

export interface BuildProjectResult {
  outFile: string;
  wasm: Uint8Array;
  name: string;
  source: string;
  exports: SourceExports;
  compileMs: number;
  warnings: string;
}

interface PackageJson {
  name?: string;
  smartmodule?: { kind?: string; source?: string };
}

async function readJson<T>(file: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new Error(`${file} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}

function buildOptionsFrom(asconfig: { options?: Record<string, unknown> } | undefined): AscBuildOptions {
  const o = asconfig?.options ?? {};
  const out: AscBuildOptions = {};
  if (typeof o.optimizeLevel === 'number') out.optimizeLevel = o.optimizeLevel;
  if (typeof o.shrinkLevel === 'number') out.shrinkLevel = o.shrinkLevel;
  if (typeof o.noAssert === 'boolean') out.noAssert = o.noAssert;
  if (typeof o.debug === 'boolean') out.debug = o.debug;
  if (o.runtime === 'incremental' || o.runtime === 'minimal' || o.runtime === 'stub') out.runtime = o.runtime;
  return out;
}

/** Compiles a project (or one source file) to a SmartModule .wasm and writes it. */
export async function buildProject(opts: BuildProjectOptions = {}): Promise<BuildProjectResult> {
  const target = path.resolve(opts.path ?? '.');
  let dir: string;
  let source: string;
  let pkg: PackageJson | undefined;
  if (target.endsWith('.ts')) {
    source = target;
    dir = path.dirname(target);
    // a file inside a project's src/: the project is one level up
    if (path.basename(dir) === 'src' && existsSync(path.join(dir, '..', 'package.json'))) dir = path.dirname(dir);
    pkg = await readJson<PackageJson>(path.join(dir, 'package.json'));
  } else {
    dir = target;
    pkg = await readJson<PackageJson>(path.join(dir, 'package.json'));
    const candidates = [pkg?.smartmodule?.source, 'src/index.ts', 'assembly/index.ts', 'index.ts'].filter((c): c is string => typeof c === 'string');
    const found = candidates.map((c) => path.resolve(dir, c)).find((c) => existsSync(c));
    if (!found) throw new Error(`no SmartModule source in ${dir}: expected ${candidates.join(' or ')} (create a project with \`freshet sm generate NAME\`)`);
    source = found;
  }
  const text = await readFile(source, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new Error(`cannot read ${source}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`, { cause: err });
  });
  let kind = opts.kind;
  if (kind === undefined && pkg?.smartmodule?.kind !== undefined) {
    kind = parseSdkKind(pkg.smartmodule.kind);
    if (kind === undefined) throw new Error(`package.json: unknown smartmodule.kind "${pkg.smartmodule.kind}" (use ${SDK_KINDS.join(', ')})`);
  }
  const exports = sourceExports(text, path.relative(process.cwd(), source) || source, kind);
  const options = { ...buildOptionsFrom(await readJson(path.join(dir, 'asconfig.json'))), ...(opts.options ?? {}) };
  const name = pkg?.name ?? path.basename(source === target ? source.replace(/\.ts$/, '') : dir);
  const { wasm, compileMs, warnings } = await compileEntry({ baseDir: path.dirname(source), entrySource: entrySource(path.dirname(source), source, exports), options });
  const outFile = path.resolve(opts.out ?? path.join(dir, 'build', `${name.replace(/^@[^/]+\//, '')}.wasm`));
  await mkdir(path.dirname(outFile), { recursive: true });
  await writeFile(outFile, wasm);
  return { outFile, wasm, name, source, exports, compileMs, warnings };
}
