// The built-in SmartModules (sdk/builtins, written with the SDK) against the
// examples of ../shared/reference/fluvio-hub-smartmodules.md, byte for byte
// where the document gives the output, run through the SmartEngine with the
// `with` parameters as Fluvio passes them (maps and lists as compact JSON).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { BUILTIN_NAMES, buildBuiltins, builtinSmartModule, builtinsCacheDir, resolveBuiltin } from '../../../src/smartengine/builtins.js';
import { SmartEngine, SmartModuleError, type ChainOutput, type SmartRecord } from '../../../src/smartengine/index.js';
import { stopCompiler } from '../../../src/smartengine/sdk/index.js';

const execFileAsync = promisify(execFile);
const engine = new SmartEngine();
const wasm = new Map<string, Uint8Array>();

function rec(value: string, i: number, key: string | null = null): SmartRecord {
  return { attributes: 0, timestampDelta: 0, offsetDelta: i, key: key === null ? null : Buffer.from(key), value: Buffer.from(value), headers: 0 };
}

/** Runs `inputs` (one batch, base offset 100) through the built-in with these `with` params. */
async function run(name: string, params: Record<string, unknown>, inputs: string[], key: string | null = null): Promise<ChainOutput> {
  const withParams = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
  const chain = await engine.buildChain([{ wasm: wasm.get(name)!, name, params: withParams }]);
  try {
    return chain.process(
      inputs.map((v, i) => rec(v, i, key)),
      { baseOffset: 100 },
    );
  } finally {
    chain.close();
  }
}

async function outputs(name: string, params: Record<string, unknown>, inputs: string[]): Promise<string[]> {
  const out = await run(name, params, inputs);
  assert.equal(out.error, undefined, out.error?.message);
  return out.records.map((r) => r.value.toString());
}

async function one(name: string, params: Record<string, unknown>, input: string): Promise<string> {
  const [value] = await outputs(name, params, [input]);
  return value;
}

async function initError(name: string, params: Record<string, unknown>): Promise<string> {
  const withParams = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
  try {
    const chain = await engine.buildChain([{ wasm: wasm.get(name)!, name, params: withParams }]);
    chain.close();
  } catch (err) {
    assert.ok(err instanceof SmartModuleError);
    assert.equal(err.fluvioError.code, 6005);
    return err.message;
  }
  throw new Error('init succeeded');
}

const shift = (spec: unknown) => ({ spec: [{ operation: 'shift', spec }] });

describe('built-in SmartModules', { timeout: 300_000 }, () => {
  before(async () => {
    for (const name of BUILTIN_NAMES) wasm.set(name, (await builtinSmartModule(name))!);
  });
  after(async () => {
    engine.close();
    await stopCompiler();
  });

  it('answer to the names Fluvio users write, with or without @version, in both groups', async () => {
    assert.deepEqual([...BUILTIN_NAMES], ['infinyon/jolt', 'infinyon/regex-filter', 'infinyon/array-map-json', 'infinyon/json-sql', 'fluvio/dedup-bloom-filter']);
    for (const [name, canonical] of [
      ['infinyon/jolt', 'infinyon/jolt'],
      ['infinyon/jolt@0.4.1', 'infinyon/jolt'],
      ['infinyon-labs/jolt@0.3.0', 'infinyon/jolt'],
      ['infinyon/regex-filter@0.2.0', 'infinyon/regex-filter'],
      ['fluvio/regex-filter@0.1.0', 'infinyon/regex-filter'],
      ['infinyon-labs/array-map-json@0.1.1', 'infinyon/array-map-json'],
      ['fluvio/array-map-json', 'infinyon/array-map-json'],
      ['infinyon/array-map-json', 'infinyon/array-map-json'],
      ['infinyon/json-sql@0.2.1', 'infinyon/json-sql'],
      ['infinyon-labs/json-sql', 'infinyon/json-sql'],
    ]) {
      assert.equal(resolveBuiltin(name)?.name, canonical, name);
    }
    assert.equal(resolveBuiltin('infinyon/jolt@latest'), undefined);
    assert.equal(resolveBuiltin('someone/jolt'), undefined);
    assert.equal(await builtinSmartModule('my-module'), undefined);
    assert.equal(await builtinSmartModule('infinyon-labs/jolt@0.4.1'), wasm.get('infinyon/jolt'));
    // cached on disk for the next process
    const dir = await builtinsCacheDir();
    for (const file of ['jolt', 'regex-filter', 'array-map-json', 'json-sql', 'dedup-filter']) assert.ok(existsSync(path.join(dir, `${file}.wasm`)), file);
  });

  it('are built ahead into sdk/builtins/build/<source hash>: a new process loads them without compiling', async () => {
    const { dir, files } = await buildBuiltins();
    assert.equal(dir, await builtinsCacheDir());
    assert.deepEqual(files, ['jolt.wasm', 'regex-filter.wasm', 'array-map-json.wasm', 'json-sql.wasm', 'dedup-filter.wasm']);
    // an empty temporary directory: the fallback cache cannot help
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'freshet-builtins-test-'));
    try {
      const script = [
        `import { BUILTIN_NAMES, builtinSmartModule } from ${JSON.stringify(new URL('../../../src/smartengine/builtins.ts', import.meta.url).href)};`,
        `import { compilationsStarted } from ${JSON.stringify(new URL('../../../src/smartengine/sdk/asc.ts', import.meta.url).href)};`,
        'const sizes = [];',
        'for (const name of BUILTIN_NAMES) { const wasm = await builtinSmartModule(name); sizes.push(WebAssembly.validate(wasm) ? wasm.length : -1); }',
        'console.log(JSON.stringify({ compilations: compilationsStarted(), sizes }));',
      ].join('\n');
      const { stdout } = await execFileAsync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: { ...process.env, TMPDIR: tmp } });
      const report = JSON.parse(stdout) as { compilations: number; sizes: number[] };
      assert.equal(report.compilations, 0);
      assert.deepEqual(report.sizes, BUILTIN_NAMES.map((name) => wasm.get(name)!.length));
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });

  describe('infinyon/jolt', () => {
    const J = 'infinyon/jolt';

    it('shift: the composed examples of the Hub document', async () => {
      assert.equal(await one(J, shift({ name: 'user.name', acct: { no: 'user.account' } }), '{"id":1,"name":"Ann","acct":{"no":"11","type":"chk"}}'), '{"user":{"name":"Ann","account":"11"}}');
      assert.equal(await one(J, shift({ '*': 'data.&' }), '{"id":1,"name":"Ann","acct":"11"}'), '{"data":{"id":1,"name":"Ann","acct":"11"}}');
      assert.equal(await one(J, shift({ 'id|name': 'pick.&(0)' }), '{"id":1,"name":"Ann","acct":"11"}'), '{"pick":{"id":1,"name":"Ann"}}');
      assert.equal(await one(J, shift({ 'rating-*': 'ratings.&(0,1)' }), '{"rating-price":3,"rating-quality":5,"other":1}'), '{"ratings":{"price":3,"quality":5}}');
      const items = '{"items":[{"id":"a","v":1},{"id":"b","v":2}]}';
      assert.equal(await one(J, shift({ items: { '*': { v: 'values[]' } } }), items), '{"values":[1,2]}');
      assert.equal(await one(J, shift({ items: { '*': { v: 'byId.@(1,id)' } } }), items), '{"byId":{"a":1,"b":2}}');
      assert.equal(
        await one(J, shift({ items: { '*': { '@(guid.value)': 'data[&(1)].guid', '*': { $: 'data[&(2)].keys[]' } } } }), '{"items":[{"guid":{"value":"u1"},"t":"x"},{"guid":{"value":"u2"},"t":"y"}]}'),
        '{"data":[{"guid":"u1","keys":["guid","t"]},{"guid":"u2","keys":["guid","t"]}]}',
      );
      assert.equal(await one(J, shift({ a: 'x', b: 'x' }), '{"a":1,"b":2}'), '{"x":[1,2]}');
      const health = shift({ status: { ok: { '#up': 'health' }, '*': { '#down': 'health' } } });
      assert.deepEqual(await outputs(J, health, ['{"status":"ok"}', '{"status":"fail"}']), ['{"health":"up"}', '{"health":"down"}']);
    });

    it('shift: more of the DSL (lists of paths, trash, indexes, escapes, value keys, & quirk)', async () => {
      assert.equal(await one(J, shift({ a: ['x', 'y.z'], b: null, c: 'arr[1]' }), '{"a":1,"b":2,"c":3}'), '{"x":1,"y":{"z":1},"arr":[null,3]}');
      assert.equal(await one(J, shift({ 'a\\.b': 'dotted\\.key' }), '{"a.b":1}'), '{"dotted.key":1}');
      assert.equal(await one(J, shift({ kind: { '*': { $: 'kinds.&(1)' } } }), '{"kind":"book"}'), '{"kinds":{"book":"book"}}');
      assert.equal(await one(J, shift({ '*': 'out.&(0)-suffix' }), '{"k":1}'), '{"out":{"k-suffix":1}}');
      // `&0` is `&` followed by the literal 0 in this engine (fluvio-jolt >= 0.3)
      assert.equal(await one(J, shift({ '*': 'data.&0' }), '{"name":"Ann"}'), '{"data":{"name0":"Ann"}}');
      // nothing matched: null
      assert.equal(await one(J, shift({ absent: 'x' }), '{"a":1}'), 'null');
      // @ on the whole node, numbers and booleans as keys
      assert.equal(await one(J, shift({ '@': 'copy' }), '{"a":[1,2.5,true]}'), '{"copy":{"a":[1,2.5,true]}}');
      assert.equal(await one(J, shift({ flag: { true: { '#yes': 'f' } }, n: { '12': { '#twelve': 'g' } } }), '{"flag":true,"n":12}'), '{"f":"yes","g":"twelve"}');
    });

    it('shift: execution errors fail the record (runtime error with its offset)', async () => {
      const out = await run(J, shift({ '*': 'x.&(3)' }), ['{"a":1}']);
      assert.equal(out.error?.offset, 100);
      assert.equal(out.error?.runtimeError?.hint, 'Path index out of range when using wildcard. Index=3;Length=2;');
      const missing = await run(J, shift({ items: { '*': { v: 'byId.@(1,nope)' } } }), ['{"items":[{"v":1}]}']);
      assert.equal(missing.error?.runtimeError?.hint, 'Key not found in object:nope');
    });

    it('default and remove (remove moves the last member into the removed one’s place, as serde_json’s Map::remove)', async () => {
      assert.equal(
        await one(J, { spec: [{ operation: 'default', spec: { phones: { mobile: '000', code: '+1' }, source: 'api' } }] }, '{"phones":{"mobile":"555","country":"US"}}'),
        '{"phones":{"mobile":"555","country":"US","code":"+1"},"source":"api"}',
      );
      // The Hub document writes this result {"name":"Ann","meta":{"keep":1}} (read from source, not
      // run); the module itself (fluvio-jolt 0.3 on serde_json with preserve_order) removes with
      // swap_remove, so "meta" takes the place of "id". Same members, Fluvio's order.
      const removed = await one(J, { spec: [{ operation: 'remove', spec: { id: '', meta: { trace: '' } } }] }, '{"id":7,"name":"Ann","meta":{"trace":"x","keep":1}}');
      assert.equal(removed, '{"meta":{"keep":1},"name":"Ann"}');
      assert.deepEqual(JSON.parse(removed), { name: 'Ann', meta: { keep: 1 } });
      // null counts as present for default; a non-object on the way stops it
      assert.equal(await one(J, { spec: [{ operation: 'default', spec: { a: 1, b: { c: 2 } } }] }, '{"a":null,"b":5}'), '{"a":null,"b":5}');
    });

    it('the documented chain remove → shift → default; not JSON is a record error with serde_json’s message', async () => {
      const spec = {
        spec: [
          { operation: 'remove', spec: { id: '' } },
          { operation: 'shift', spec: { '*': 'data.&' } },
          { operation: 'default', spec: { data: { source: 'http-connector' } } },
        ],
      };
      const out = await run(J, spec, ['{"id":1,"name":"Ann","source":"mqtt"}', '{}', 'not json'], 'key-1');
      // doc: {"data":{"name":"Ann","source":"mqtt"}} (members in swap_remove order here, see above)
      assert.deepEqual(
        out.records.map((r) => r.value.toString()),
        ['{"data":{"source":"mqtt","name":"Ann"}}', 'null'],
      );
      assert.deepEqual(JSON.parse(out.records[0].value.toString()), { data: { name: 'Ann', source: 'mqtt' } });
      assert.ok(out.records.every((r) => r.key?.toString() === 'key-1'), 'the key is kept');
      assert.equal(out.error?.offset, 102);
      assert.equal(out.error?.runtimeError?.hint, 'expected ident at line 1 column 2');
    });

    it('init errors: missing spec, a bare object, an unknown operation, a bad expression', async () => {
      assert.match(await initError(J, {}), /Missing param spec/);
      const parse = /could not parse the specification from `spec` param/;
      assert.match(await initError(J, { spec: { operation: 'shift', spec: {} } }), parse);
      assert.match(await initError(J, { spec: [{ operation: 'sort', spec: {} }] }), parse);
      assert.match(await initError(J, { spec: [{ operation: 'shift', spec: { '&1': 'x' } }] }), parse);
      assert.match(await initError(J, { spec: [{ operation: 'shift', spec: { a: 5 } }] }), parse);
      assert.match(await initError(J, { spec: 'not json' }), parse);
    });
  });

  describe('infinyon/regex-filter', () => {
    const R = 'infinyon/regex-filter';

    it('the Hub example: [Cc]at keeps the cat fact, drops the dog; records pass unchanged', async () => {
      const out = await run(R, { regex: '[Cc]at' }, ['{"fact":"Cats purr"}', '{"fact":"Dogs bark"}'], 'k');
      assert.deepEqual(out.records.map((r) => [r.key?.toString(), r.value.toString(), r.offsetDelta]), [['k', '{"fact":"Cats purr"}', 0]]);
    });

    it('Rust regex syntax: anchors, flags, classes, Unicode, repetition, alternation, word boundaries', async () => {
      const cases: [string, string[], string[]][] = [
        ['^a.c$', ['abc', 'a-c', 'xabc', 'ab\nc'], ['abc', 'a-c']],
        ['(?i)hello', ['HeLLo world', 'help'], ['HeLLo world']],
        ['\\d{3}-\\d{4}', ['call 555-1234', '55-1234', '٣٣٣-٤٤٤٤'], ['call 555-1234', '٣٣٣-٤٤٤٤']],
        ['^[[:alpha:]]+$', ['abc', 'ab1'], ['abc']],
        ['\\bcat\\b', ['a cat!', 'concatenate'], ['a cat!']],
        ['colou?r|grey', ['color', 'colour', 'gray', 'grey'], ['color', 'colour', 'grey']],
        ['^\\p{Lu}\\w+', ['Émile', 'émile'], ['Émile']],
        ['(?m)^end$', ['start\nend\nmore', 'the end'], ['start\nend\nmore']],
        ['(?x) a \\  b  # comment', ['a b', 'ab'], ['a b']],
        ['[^\\s]+@[a-z]+\\.(com|org)', ['mail me: a.b@x.org', 'a@b.net'], ['mail me: a.b@x.org']],
        ['(ab){2,}c', ['ababc', 'abc'], ['ababc']],
        ['[a-c&&b-d]x', ['bx', 'ax', 'cx'], ['bx', 'cx']],
        ['\\x{1F600}|\\u263A', ['smile 😀', '☺', 'x'], ['smile 😀', '☺']],
        ['(a|b)*abb', ['babaabb', 'abab'], ['babaabb']],
        ['', ['', 'x'], ['', 'x']],
        ['(?i)[^a]', ['A', 'a', 'aB'], ['aB']],
        ['(?i)[\\p{L}--[a-z]]x', ['Éx', 'ax', 'AX'], ['Éx']],
        // a literal (byte search), on both sides of the 32-byte steps
        ['"level":"error"', ['{"level":"error"}', `{"msg":"${'x'.repeat(40)}","level":"error"}`, '{"level":"errors"}', '{"level": "error"}', '"level":"erro'], ['{"level":"error"}', `{"msg":"${'x'.repeat(40)}","level":"error"}`]],
        ['ü', ['über', 'uber'], ['über']],
        // the lazy DFA: \z, \A inside an alternation, non-ASCII text, a required literal as prefilter
        ['error$', ['an error', 'error!', 'errors'], ['an error']],
        ['^abc|xyz$', ['abcd', 'zxyz', 'xyzz', 'ab'], ['abcd', 'zxyz']],
        ['é+x', ['ééx', 'ex', 'Éx'], ['ééx']],
        ['"id":\\d+,"level', ['{"id":12,"level":1}', '{"id":"12","level":1}', '{"level":1}'], ['{"id":12,"level":1}']],
        ['(a|\\z)+$', ['b', 'ba', ''], ['b', 'ba', '']],
      ];
      for (const [regex, inputs, kept] of cases) assert.deepEqual(await outputs(R, { regex }, inputs), kept, regex);
    });

    it('a literal is found at every position of texts of every length around the 16- and 32-byte steps', async () => {
      const literal = '"level":"error"';
      const inputs: string[] = [];
      const expected: string[] = [];
      for (let length = literal.length; length <= 100; length++) {
        for (let at = 0; at + literal.length <= length; at++) {
          const text = 'x'.repeat(at) + literal + 'y'.repeat(length - literal.length - at);
          inputs.push(text, text.replace('error"', 'errox"'));
          expected.push(text);
        }
      }
      assert.deepEqual(await outputs(R, { regex: literal }, inputs), expected);
    });

    it('a pattern whose DFA outgrows its state limit still answers (Pike VM)', async () => {
      let text = '';
      for (let i = 0, x = 7; i < 4000; i++) {
        x = (x * 1103515245 + 12345) % 2147483648;
        text += x & 1024 ? 'a' : 'b';
      }
      const inputs = [`${text}a${'b'.repeat(10)}c`, `${text}${'b'.repeat(11)}c`];
      assert.deepEqual(await outputs(R, { regex: '[ab]*a[ab]{10}c' }, inputs), [inputs[0]]);
    });

    it('stays linear on a pattern that makes backtracking engines explode', async () => {
      const started = performance.now();
      assert.deepEqual(await outputs(R, { regex: '^(a+)+$' }, ['a'.repeat(5000) + 'b']), []);
      assert.ok(performance.now() - started < 5000);
    });

    it('a value that is not UTF-8 fails the record; init errors: missing regex, bad pattern, look-around', async () => {
      const chain = await engine.buildChain([{ wasm: wasm.get(R)!, name: R, params: { regex: 'a' } }]);
      const out = chain.process([{ ...rec('', 0), value: Buffer.from([0x61, 0xff]) }], { baseOffset: 7 });
      chain.close();
      assert.equal(out.error?.offset, 7);
      assert.equal(out.error?.runtimeError?.hint, 'invalid utf-8 sequence of 1 bytes from index 1');
      assert.match(await initError(R, {}), /Missing param regex/);
      assert.match(await initError(R, { regex: '[a-' }), /regex parse error:\n {4}\[a-\n[\s\S]*error: unclosed character class/);
      assert.match(await initError(R, { regex: '(?=x)' }), /look-around/);
      assert.match(await initError(R, { regex: '(a)\\1' }), /backreferences are not supported/);
    });
  });

  describe('infinyon/array-map-json', () => {
    const A = 'infinyon/array-map-json';

    it('the Hub example: one record per element, no key, compact JSON', async () => {
      const out = await run(A, {}, ['[{"one": 1}, {"two": 2}]'], 'input-key');
      assert.deepEqual(out.records.map((r) => r.value.toString()), ['{"one":1}', '{"two":2}']);
      assert.ok(out.records.every((r) => r.key === null && r.offsetDelta === 0));
    });

    it('[] gives nothing; object keys sorted as the Hub module (serde_json without preserve_order) writes them', async () => {
      assert.deepEqual(await outputs(A, {}, ['[]', '[{"b":1,"a":{"d":[1.50,-0,1e2],"c":"\\u00e9\\n"}},"x",null]']), [
        '{"a":{"c":"é\\n","d":[1.5,0,100.0]},"b":1}',
        '"x"',
        'null',
      ]);
    });

    it('anything but an array fails the record with serde_json’s message', async () => {
      const out = await run(A, {}, ['[1]', '{"a":1}']);
      assert.deepEqual(out.records.map((r) => r.value.toString()), ['1']);
      assert.equal(out.error?.offset, 101);
      assert.equal(out.error?.runtimeError?.hint, 'invalid type: map, expected a sequence at line 1 column 0');
      const bad = await run(A, {}, ['[1,]']);
      assert.equal(bad.error?.runtimeError?.hint, 'trailing comma at line 1 column 4');
    });
  });

  describe('infinyon/json-sql', () => {
    const S = 'infinyon/json-sql';
    const mapping = {
      table: 'readings',
      operation: 'upsert',
      'unique-columns': ['sensor_id'],
      'map-columns': {
        sensor_id: { 'json-key': 'payload.sensor.id', value: { type: 'int4', required: true } },
        temp: { 'json-key': 'payload.temp', value: { type: 'float8', default: 0 } },
        note: { 'json-key': 'payload.note', value: { type: 'text' } },
        raw: { 'json-key': '$', value: { type: 'jsonb' } },
      },
    };

    it('the Hub example: upsert with the model the SQL sink consumes; a missing required field fails the record', async () => {
      const out = await run(S, { mapping }, ['{"payload":{"sensor":{"id":7},"temp":21.5}}', '{"payload":{}}'], 'k7');
      assert.equal(
        out.records[0].value.toString(),
        '{"Upsert":{"table":"readings","values":[' +
          '{"column":"sensor_id","raw_value":"7","type":"Int"},' +
          '{"column":"temp","raw_value":"21.5","type":"DoublePrecision"},' +
          '{"column":"note","raw_value":"","type":"Text"},' +
          '{"column":"raw","raw_value":"{\\"payload\\":{\\"sensor\\":{\\"id\\":7},\\"temp\\":21.5}}","type":"Json"}],' +
          '"uniq_idx":"sensor_id"}}',
      );
      assert.equal(out.records[0].key?.toString(), 'k7');
      assert.equal(out.error?.offset, 101);
      assert.equal(out.error?.runtimeError?.hint, 'Missing required field: payload.sensor.id');
    });

    it('insert (the default), every type name, paths with $. / . / array indexes, defaults, null present', async () => {
      const types = ['bigint', 'int8', 'integer', 'int', 'int4', 'smallint', 'int2', 'boolean', 'bool', 'bytea', 'bytes', 'text', 'float', 'float4', 'real', 'doubleprecision', 'double precision', 'float8', 'numeric', 'decimal', 'date', 'time', 'timestamp', 'json', 'jsonb', 'uuid'];
      const model = ['BigInt', 'BigInt', 'Int', 'Int', 'Int', 'SmallInt', 'SmallInt', 'Bool', 'Bool', 'Bytes', 'Bytes', 'Text', 'Float', 'Float', 'Float', 'DoublePrecision', 'DoublePrecision', 'DoublePrecision', 'Numeric', 'Numeric', 'Date', 'Time', 'Timestamp', 'Json', 'Json', 'Uuid'];
      const columns = Object.fromEntries(types.map((type, i) => [`c${i}`, { 'json-key': 'v', value: { type } }]));
      const all = JSON.parse(await one(S, { mapping: { table: 't', columns } }, '{"v":"x"}')) as { Insert: { values: { type: string; raw_value: string }[] } };
      assert.deepEqual(all.Insert.values.map((v) => v.type), model);
      assert.ok(all.Insert.values.every((v) => v.raw_value === 'x'));

      const cols = {
        a: { 'json-key': '$.device.number', value: { type: 'int' } },
        b: { json_key: '.metrics.1', value: { type: 'text' } },
        c: { 'json-key': 'metrics', value: { type: 'json' } },
        d: { 'json-key': 'missing', value: { type: 'int', default: 7 } },
        e: { 'json-key': 'missing', value: { type: 'float', default: 2.5 } },
        f: { 'json-key': 'missing', value: { type: 'text', default: 'n/a' } },
        g: { 'json-key': 'nothing', value: { type: 'text', default: 'dflt' } },
        h: { 'json-key': 'obj', value: { type: 'json' } },
      };
      assert.equal(
        await one(S, { mapping: { table: 'm', 'map-columns': cols } }, '{"device":{"number":1},"metrics":["one","two"],"nothing":null,"obj":{"z":1,"a":true}}'),
        '{"Insert":{"table":"m","values":[' +
          '{"column":"a","raw_value":"1","type":"Int"},' +
          '{"column":"b","raw_value":"two","type":"Text"},' +
          '{"column":"c","raw_value":"[\\"one\\",\\"two\\"]","type":"Json"},' +
          '{"column":"d","raw_value":"7","type":"Int"},' +
          '{"column":"e","raw_value":"2.5","type":"Float"},' +
          '{"column":"f","raw_value":"n/a","type":"Text"},' +
          '{"column":"g","raw_value":"null","type":"Text"},' +
          '{"column":"h","raw_value":"{\\"a\\":true,\\"z\\":1}","type":"Json"}]}}',
      );
    });

    it('record and init errors', async () => {
      const noUnique = await run(S, { mapping: { table: 't', operation: 'upsert', columns: { a: { 'json-key': 'a', value: { type: 'int' } } } } }, ['{"a":1}']);
      assert.equal(noUnique.error?.runtimeError?.hint, "unique-columns can't be empty when doing upsert");
      const notJson = await run(S, { mapping }, ['{"payload":']);
      assert.equal(notJson.error?.runtimeError?.hint, 'EOF while parsing a value at line 1 column 11');
      assert.match(await initError(S, {}), /no json-sql mapping supplied/);
      for (const bad of [{ table: 't' }, { columns: {} }, { table: 't', columns: { a: { 'json-key': 'a', value: { type: 'varchar' } } } }, { table: 't', operation: 'merge', columns: {} }]) {
        assert.match(await initError(S, { mapping: bad }), /could not parse json-sql mapping/, JSON.stringify(bad));
      }
    });
  });

  describe('fluvio/dedup-bloom-filter', () => {
    const D = 'fluvio/dedup-bloom-filter';
    const keyed = (key: string | null, value: string, i: number, timestampDelta = 0): SmartRecord => ({ ...rec(value, i, key), timestampDelta });

    it('drops a record whose key is among the last count kept (across batches); keyless records pass', async () => {
      const chain = await engine.buildChain([{ wasm: wasm.get(D)!, name: D, params: { count: '2' } }]);
      try {
        const first = chain.process([keyed('a', '1', 0), keyed('b', '2', 1), keyed('a', '3', 2), keyed(null, '4', 3), keyed(null, '5', 4)], { baseOffset: 0 });
        assert.deepEqual(first.records.map((r) => r.value.toString()), ['1', '2', '4', '5']);
        // window [a, b]: c pushes a out, so a is new again
        const second = chain.process([keyed('b', '6', 0), keyed('c', '7', 1), keyed('a', '8', 2), keyed('c', '9', 3)], { baseOffset: 5 });
        assert.deepEqual(second.records.map((r) => r.value.toString()), ['7', '8']);
      } finally {
        chain.close();
      }
    });

    it('age: a key older than the bound is new again; look-back seeds the window', async () => {
      const chain = await engine.buildChain([{ wasm: wasm.get(D)!, name: D, params: { count: '100', age: '1000' }, lookback: { last: 100 } }]);
      try {
        await chain.lookBack(async () => [keyed('old', 'x', 0, 1_000), keyed('recent', 'y', 1, 5_500)]);
        const out = chain.process([keyed('old', '1', 0, 0), keyed('recent', '2', 1, 0), keyed('new', '3', 2, 100), keyed('new', '4', 3, 200)], { baseOffset: 2, baseTimestamp: 6_000 });
        assert.deepEqual(out.records.map((r) => r.value.toString()), ['1', '3']);
      } finally {
        chain.close();
      }
    });

    it('init errors: missing or out-of-range count', async () => {
      assert.match(await initError(D, {}), /Missing param count/);
      assert.match(await initError(D, { count: '0' }), /count must be between 1 and 1000000, got 0/);
    });
  });
});
