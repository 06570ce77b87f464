// `freshet sm` as users run it (subprocesses of bin/freshet.js):
// generate → build → test round trip; test on a module written against the
// raw SmartModule ABI (not built by `freshet sm build`) and on
// built-ins; create / list / delete against a node (-c and FRESHET_ENDPOINT);
// a module registered under a built-in's name wins in test as on the node.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Freshet } from '../../src/client/index.js';
import { removeDir, startTestNode, tempDir } from '../helpers/test-node.js';
import { asModule } from '../unit/smartengine/asc.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(repo, 'bin/freshet.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function freshet(args: string[], opts: { cwd?: string; env?: Record<string, string>; input?: string } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1', ...opts.env };
    if (!opts.env?.FRESHET_ENDPOINT) delete env.FRESHET_ENDPOINT;
    const child = spawn(process.execPath, [bin, ...args], { cwd: opts.cwd ?? repo, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

describe('freshet sm', { timeout: 240_000 }, () => {
  let work: string;
  before(async () => {
    work = await tempDir('freshet-sm-cli-');
  });
  after(async () => {
    await removeDir(work);
  });

  it('generate → build → test: a filter project with params, from text, a file and stdin', async () => {
    const generated = await freshet(['sm', 'generate', 'keep-term', '--kind', 'filter'], { cwd: work });
    assert.equal(generated.code, 0, generated.stderr);
    const project = path.join(work, 'keep-term');
    for (const file of ['package.json', 'asconfig.json', 'tsconfig.json', 'src/index.ts', 'README.md', '.gitignore']) assert.ok(existsSync(path.join(project, file)), file);
    assert.equal((JSON.parse(await readFile(path.join(project, 'package.json'), 'utf8')) as { smartmodule: { kind: string } }).smartmodule.kind, 'filter');
    const again = await freshet(['sm', 'generate', 'keep-term'], { cwd: work });
    assert.equal(again.code, 2);
    assert.match(again.stderr, /not empty/);

    const built = await freshet(['sm', 'build', 'keep-term'], { cwd: work });
    assert.equal(built.code, 0, built.stderr);
    const wasmFile = path.join(project, 'build/keep-term.wasm');
    assert.equal(built.stdout.trim(), wasmFile, 'the output path is printed');
    assert.match(built.stderr, /built filter SmartModule keep-term/);
    const module = await WebAssembly.compile(await readFile(wasmFile));
    assert.deepEqual(WebAssembly.Module.exports(module).map((e) => e.name).sort(), ['alloc', 'dealloc', 'filter', 'init', 'memory']);

    await writeFile(path.join(work, 'fruit.txt'), 'apple\nkiwi\nbanana\r\nfig\n');
    const [text, file, params, stdin, keyed] = await Promise.all([
      freshet(['sm', 'test', '--wasm-file', wasmFile, '--text', 'apple']),
      freshet(['sm', 'test', '--wasm-file', wasmFile, '--file', path.join(work, 'fruit.txt'), '-v']),
      freshet(['sm', 'test', '--wasm-file', wasmFile, '--file', path.join(work, 'fruit.txt'), '-e', 'term=i']),
      freshet(['sm', 'test', '--wasm-file', wasmFile, '--stdin', '--kind', 'filter'], { input: 'xa\nyb\nza\n' }),
      freshet(['sm', 'test', '--wasm-file', wasmFile, '--text', 'papaya', '--key', 'k1', '-k']),
    ]);
    for (const r of [text, file, params, stdin, keyed]) assert.equal(r.code, 0, r.stderr);
    assert.equal(text.stdout, 'apple\n');
    assert.equal(file.stdout, '2 records outputted\napple\nbanana\n');
    assert.equal(params.stdout, 'kiwi\nfig\n');
    assert.equal(stdin.stdout, 'xa\nza\n');
    assert.equal(keyed.stdout, '[k1] papaya\n');
  });

  it('build from a single file; a compile error is reported with the file and line', async () => {
    const file = path.join(work, 'halve.ts');
    await writeFile(
      file,
      'import { Record, fail } from "@freshet/smartmodule";\n' +
        'export function filterMap(record: Record): Record | null {\n' +
        '  const n = I32.parseInt(record.valueString());\n' +
        '  if (record.valueString() == "x") { fail("not a number"); return null; }\n' +
        '  return n % 2 == 0 ? record.withValue((n / 2).toString()) : null;\n}\n',
    );
    const built = await freshet(['sm', 'build', file, '-o', path.join(work, 'halve.wasm'), '--optimize-level', '1']);
    assert.equal(built.code, 0, built.stderr);
    const run = await freshet(['sm', 'test', '--wasm-file', path.join(work, 'halve.wasm'), '--stdin'], { input: '10\n11\nx\n12\n' });
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '5\n');
    assert.match(run.stderr, /failed on the record at offset 2 \(FilterMap\): not a number/);
    const wrongKind = await freshet(['sm', 'test', '--wasm-file', path.join(work, 'halve.wasm'), '--text', '1', '--kind', 'map']);
    assert.equal(wrongKind.code, 1);
    assert.match(wrongKind.stderr, /not a map: it exports filter-map/);

    const broken = path.join(work, 'broken.ts');
    await writeFile(broken, 'import { Record } from "@freshet/smartmodule";\nexport function map(record: Record): Record {\n  return record.nope();\n}\n');
    const failed = await freshet(['sm', 'build', broken]);
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /Property 'nope' does not exist/);
    assert.match(failed.stderr, /broken\.ts\(3,/);
  });

  it('test runs a module written against the raw SmartModule ABI (test/fixtures/smartmodules/map-upper.ts)', async () => {
    const file = path.join(work, 'map-upper.wasm');
    await writeFile(file, await asModule('map-upper'));
    const run = await freshet(['sm', 'test', '--wasm-file', file, '--text', 'hello fluvio', '-v']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, '1 records outputted\nHELLO FLUVIO\n');
  });

  it('test runs built-ins given as Fluvio transform lines, chained', async () => {
    const jolt = JSON.stringify({ uses: 'infinyon/jolt@0.4.1', with: { spec: [{ operation: 'shift', spec: { '*': 'data.&' } }] } });
    const regex = JSON.stringify({ uses: 'infinyon/regex-filter', with: { regex: 'Ann' } });
    const run = await freshet(['sm', 'test', '--transforms-line', jolt, '--transforms-line', regex, '--stdin'], { input: '{"name":"Ann"}\n{"name":"Bob"}\n' });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, '{"data":{"name":"Ann"}}\n');
    const nothing = await freshet(['sm', 'test', '--text', 'x']);
    assert.equal(nothing.code, 2);
  });

  describe('against a node', () => {
    let node: Awaited<ReturnType<typeof startTestNode>>;
    let endpoint: string;
    before(async () => {
      node = await startTestNode();
      endpoint = `127.0.0.1:${node.scPort}`;
    });
    after(async () => {
      await node.stop();
      await removeDir(node.dataDir);
    });

    it('create (and its alias load) / list / test by name / delete', async () => {
      const wasmFile = path.join(work, 'keep-term/build/keep-term.wasm');
      assert.ok(existsSync(wasmFile), 'built by the round-trip test');
      const created = await freshet(['-c', endpoint, 'sm', 'create', 'keep-term', '--wasm-file', wasmFile]);
      assert.equal(created.code, 0, created.stderr);
      assert.equal(created.stdout, 'smartmodule "keep-term" has been created.\n');
      const loaded = await freshet(['sm', 'load', 'keep-term-2', '--wasm-file', wasmFile], { env: { FRESHET_ENDPOINT: endpoint } });
      assert.equal(loaded.code, 0, loaded.stderr);
      const duplicate = await freshet(['-c', endpoint, 'sm', 'create', 'keep-term', '--wasm-file', wasmFile]);
      assert.equal(duplicate.code, 5, duplicate.stderr);

      // the node stores the module as sent: the bytes come back unchanged
      const client = await Freshet.connect({ endpoint });
      try {
        assert.deepEqual(Buffer.from((await client.admin.getSmartModule('keep-term'))!), await readFile(wasmFile));
      } finally {
        await client.close();
      }

      const [table, json] = await Promise.all([freshet(['-c', endpoint, 'sm', 'list']), freshet(['-c', endpoint, 'sm', 'list', '-O', 'json'])]);
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, /SMARTMODULE\s+SIZE/);
      assert.match(table.stdout, /keep-term\s/);
      const rows = json.stdout.trim().split('\n').map((line) => JSON.parse(line) as { name: string; wasmLength: number });
      assert.deepEqual(rows.map((r) => r.name), ['keep-term', 'keep-term-2']);
      assert.ok(rows.every((r) => r.wasmLength > 0));

      // sm test fetches a name that is not a built-in from the node (as fluvio sm test does)
      const step = JSON.stringify({ uses: 'keep-term', with: { term: 'an' } });
      const fetched = await freshet(['-c', endpoint, 'sm', 'test', '--transforms-line', step, '--stdin'], { input: 'banana\napple\n' });
      assert.equal(fetched.code, 0, fetched.stderr);
      assert.equal(fetched.stdout, 'banana\n');
      const unknown = await freshet(['-c', endpoint, 'sm', 'test', '--transforms-line', '{"uses":"someone/thing@1.0.0"}', '--text', 'x']);
      assert.equal(unknown.code, 4);
      assert.match(unknown.stderr, /someone\/thing@1.0.0 was not found: it is not a built-in .* nor registered with the node/);

      const deleted = await freshet(['-c', endpoint, 'sm', 'delete', 'keep-term', 'keep-term-2']);
      assert.equal(deleted.code, 0, deleted.stderr);
      assert.equal(deleted.stdout, 'smartmodule "keep-term" deleted\nsmartmodule "keep-term-2" deleted\n');
      const missing = await freshet(['-c', endpoint, 'sm', 'delete', 'keep-term']);
      assert.equal(missing.code, 4, missing.stderr);
      const empty = await freshet(['-c', endpoint, 'sm', 'list']);
      assert.equal(empty.stdout, '');
      assert.match(empty.stderr, /no smartmodules/);
    });

    it('test runs a module registered under a built-in name, as the node does (registered first, then built-in)', async () => {
      const upper = path.join(work, 'shadow-upper.wasm');
      await writeFile(upper, await asModule('map-upper'));
      const created = await freshet(['-c', endpoint, 'sm', 'create', 'infinyon/regex-filter', '--wasm-file', upper]);
      assert.equal(created.code, 0, created.stderr);
      try {
        const step = JSON.stringify({ uses: 'infinyon/regex-filter', with: { regex: 'nothing matches this' } });
        const local = await freshet(['-c', endpoint, 'sm', 'test', '--transforms-line', step, '--text', 'hello']);
        assert.equal(local.code, 0, local.stderr);
        assert.equal(local.stdout, 'HELLO\n', 'the registered module ran, not the built-in filter');

        const client = await Freshet.connect({ endpoint });
        try {
          await client.admin.createTopic('shadowed', { partitions: 1 });
          const producer = await client.producer('shadowed');
          await producer.send(null, 'hello');
          await producer.flush();
          const consumer = await client.consumer('shadowed', {
            offset: 'beginning',
            continuous: false,
            smartmodules: [{ name: 'infinyon/regex-filter', params: { regex: 'nothing matches this' } }],
          });
          const values: string[] = [];
          for await (const record of consumer) values.push(record.valueString());
          assert.deepEqual(values, ['HELLO'], 'the node runs the same module for that name');
        } finally {
          await client.close();
        }

        // without a node to ask, the built-in runs
        const offline = await freshet(['-c', '127.0.0.1:1', 'sm', 'test', '--transforms-line', step, '--text', 'hello']);
        assert.equal(offline.code, 0, offline.stderr);
        assert.equal(offline.stdout, '');
      } finally {
        await freshet(['-c', endpoint, 'sm', 'delete', 'infinyon/regex-filter']);
      }
    });
  });
});
