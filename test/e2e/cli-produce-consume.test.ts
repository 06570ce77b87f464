// `freshet produce|consume|consumer` as subprocesses against a test node:
// round trips, every flag, pipes, stdout/stderr separation, error paths.
// Topics are set up and checked with the client in this process.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startTestNode, removeDir, tempDir } from '../helpers/test-node.js';
import { hasAnsi, lines, runCli, spawnCli } from '../helpers/cli.js';
import { Freshet, type ConsumerRecord } from '../../src/client/index.js';
import { parseBatchHeader, splitRecordSet } from '../../src/protocol/record-batch.js';
import { builtinSmartModule } from '../../src/smartengine/builtins.js';

let node: Awaited<ReturnType<typeof startTestNode>>;
let freshet: Freshet;
let dir: string;
/** Compiled (AssemblyScript, cached under the OS temp dir) while the other tests run. */
let regexFilter: Promise<Uint8Array | undefined>;
const cli = (args: string[], input?: string | Buffer) => runCli(['-c', node.endpoint, ...args], { input });
const stdoutOf = async (args: string[]) => {
  const result = await cli(args);
  assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
};

before(async () => {
  regexFilter = builtinSmartModule('infinyon/regex-filter');
  regexFilter.catch(() => {});
  node = await startTestNode();
  freshet = await Freshet.connect({ endpoint: node.endpoint });
  dir = await tempDir('freshet-cli-files-');
});

after(async () => {
  await freshet.close();
  await node.stop();
  await removeDir(node.dataDir);
  await removeDir(dir);
});

/** Every record of a topic, read with the client. */
async function records(topic: string, partition?: number): Promise<ConsumerRecord[]> {
  const out: ConsumerRecord[] = [];
  for await (const record of await freshet.consumer(topic, { offset: 'beginning', continuous: false, partition })) out.push(record);
  return out;
}

async function produceValues(topic: string, values: string[], partition?: number): Promise<void> {
  const producer = await freshet.producer(topic);
  for (const value of values) void producer.send(null, value, { partition });
  await producer.flush();
  await producer.close();
}

function storedBatches(topic: string, partition: number) {
  return node.replicas
    .get(topic, partition)!
    .read(0, 64 * 1024 * 1024)
    .then(({ chunks }) => chunks.flatMap((chunk) => splitRecordSet(chunk)).map((batch) => parseBatchHeader(batch, 0)));
}

test('produce lines from stdin and consume them back: stdout carries only the data', async () => {
  await freshet.admin.createTopic('lines');
  const produced = await cli(['produce', 'lines'], 'one\ntwo\r\n\nthree\n');
  assert.deepEqual([produced.code, produced.stdout, produced.stderr], [0, '', '']);
  const noFinalNewline = await cli(['produce', 'lines'], 'four');
  assert.equal(noFinalNewline.code, 0);
  assert.deepEqual(
    (await records('lines')).map((r) => [r.keyString(), r.valueString()]),
    [
      [null, 'one'],
      [null, 'two'],
      [null, ''],
      [null, 'three'],
      [null, 'four'],
    ],
  );
  const consumed = await cli(['consume', 'lines', '-B', '-d']);
  assert.deepEqual([consumed.code, consumed.stdout, consumed.stderr], [0, 'one\ntwo\n\nthree\nfour\n', '']);
  assert.ok(!hasAnsi(consumed.stdout + consumed.stderr));
});

test('keys: --key-separator (lines without it skipped, -v echo), --key, consume -k and -F', async () => {
  await freshet.admin.createTopic('people');
  const [separated, fixed] = await Promise.all([
    cli(['produce', 'people', '--key-separator', '=', '-v', '-p', '0'], 'alice=Alice=In Wonderland\nno separator\nbob=Bob\n'),
    cli(['produce', 'people', '--key', 'fixed', '-p', '0'], 'x\ny\n'),
  ]);
  assert.equal(separated.code, 0);
  assert.equal(separated.stdout, '[alice] Alice=In Wonderland\n[bob] Bob\n');
  assert.match(separated.stderr, /line 2 has no separator "=": skipped/);
  assert.equal(fixed.code, 0);
  const stored = (await records('people')).map((r) => `${r.keyString()}:${r.valueString()}`).sort();
  assert.deepEqual(stored, ['alice:Alice=In Wonderland', 'bob:Bob', 'fixed:x', 'fixed:y']);

  const [keyed, formatted, conflict] = await Promise.all([
    cli(['consume', 'people', '-B', '-d', '-k']),
    cli(['consume', 'people', '-B', '-d', '-F', '{{partition}}/{{offset}} {{key}}={{value}} {{time}}|{{unknown}}|']),
    cli(['produce', 'people', '--key', 'k', '--key-separator', '=']),
  ]);
  assert.deepEqual(lines(keyed.stdout).sort(), ['[alice] Alice=In Wonderland', '[bob] Bob', '[fixed] x', '[fixed] y']);
  const templated = lines(formatted.stdout);
  assert.equal(templated.length, 4);
  for (const line of templated) assert.match(line, /^0\/[0-3] (alice|bob|fixed)=\S.* \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\|\|$/);
  assert.equal(conflict.code, 2);
  assert.match(conflict.stderr, /cannot be used with/);
});

test('--raw sends the whole input (binary) as one record; -O binary, dynamic, text and raw show it', async () => {
  await freshet.admin.createTopic('blobs');
  const blob = Buffer.from([0x68, 0x69, 0x00, 0x0a, 0xff, 0x41, 0x0a]);
  const produced = await cli(['produce', 'blobs', '--raw', '--key', 'img-1'], blob);
  assert.equal(produced.code, 0, produced.stderr);
  const [stored] = await records('blobs');
  assert.deepEqual([stored.keyString(), stored.value], ['img-1', blob]);

  const [binary, dynamic, text, raw, suppressed] = await Promise.all([
    stdoutOf(['consume', 'blobs', '-B', '-d', '-O', 'binary', '-k']),
    stdoutOf(['consume', 'blobs', '-B', '-d']),
    stdoutOf(['consume', 'blobs', '-B', '-d', '-O', 'text']),
    stdoutOf(['consume', 'blobs', '-B', '-d', '-O', 'raw']),
    stdoutOf(['consume', 'blobs', '-B', '-d', '-O', 'text', '--suppress-unknown']),
  ]);
  const dump = `00000000  68 69 00 0a ff 41 0a${' '.repeat(3)}  ${' '.repeat(23)}  |hi . A.|\n${'-'.repeat(78)}\n`;
  assert.equal(binary, `[img-1] ${dump}`);
  assert.equal(dynamic, dump);
  assert.equal(text, 'binary: (7 bytes)\n');
  assert.equal(raw, `${blob.toString('utf8')}\n`);
  assert.equal(suppressed, `${blob.toString('utf8')}\n`);
});

test('produce -f with -p, --compression, --linger, --batch-size, --delivery-semantic, --isolation; a progress bar on a terminal', async () => {
  await freshet.admin.createTopic('files', { partitions: 3 });
  const small = path.join(dir, 'small.txt');
  await writeFile(small, Array.from({ length: 200 }, (_, i) => `record-${i}`).join('\n') + '\n');
  const big = path.join(dir, 'big.txt');
  const bigLines = 20_000;
  await writeFile(big, Array.from({ length: bigLines }, (_, i) => `${String(i).padStart(6, '0')} ${'x'.repeat(56)}`).join('\n') + '\n');
  const [compressed, progress] = await Promise.all([
    cli(['produce', 'files', '-f', small, '-p', '2', '--compression', 'zstd', '--linger', '20ms', '--batch-size', '1 KiB', '--delivery-semantic', 'at-least-once', '--isolation', 'read_committed']),
    runCli(['-c', node.endpoint, 'produce', 'files', '-f', big, '-p', '1', '--delivery-semantic', 'AtMostOnce'], { fakeTty: ['stderr'] }),
  ]);
  assert.deepEqual([compressed.code, compressed.stdout, compressed.stderr], [0, '', '']);
  const batches = await storedBatches('files', 2);
  assert.ok(batches.length >= 5, `--batch-size 1 KiB: ${batches.length} batches`);
  assert.ok(batches.every((batch) => batch.compression === 4), 'zstd batches');
  assert.deepEqual((await records('files', 2)).map((r) => r.valueString()), Array.from({ length: 200 }, (_, i) => `record-${i}`));

  assert.equal(progress.code, 0, progress.stderr);
  assert.equal(progress.stdout, '');
  assert.match(progress.stderr, /\r\[=+>? *\] +\d+% [\d.]+ [KM]iB\/1\.2 MiB [\d.]+ (B|KiB|MiB)\/s ETA /);
  assert.match(progress.stderr, /\] 100% 1\.2 MiB\/1\.2 MiB/);
  assert.match(progress.stderr, /20,000 records \(1\.2 MiB\) produced to "files" in [\d.]+ s\n$/);
  const bigRecords = await records('files', 1);
  assert.equal(bigRecords.length, bigLines);
  assert.equal(bigRecords[bigLines - 1].valueString().slice(0, 6), String(bigLines - 1).padStart(6, '0'));
});

test('consume start and stop: -B, -o, --start, -H, -T, --end, -d; partitions: -p (repeatable), -A', async () => {
  await freshet.admin.createTopic('offs');
  await produceValues('offs', Array.from({ length: 10 }, (_, i) => `v${i}`));
  await freshet.admin.createTopic('multi', { partitions: 3 });
  for (const partition of [0, 1, 2]) await produceValues('multi', [`p${partition}-a`, `p${partition}-b`], partition);
  const runs = await Promise.all([
    cli(['consume', 'offs', '-B', '-d']),
    cli(['consume', 'offs', '-o', '7', '-d']),
    cli(['consume', 'offs', '--start', '8', '-d']),
    cli(['consume', 'offs', '-H', '3', '-d']),
    cli(['consume', 'offs', '-T', '2', '-d']),
    cli(['consume', 'offs', '-B', '--end', '2']),
    cli(['consume', 'multi', '-B', '-d', '-p', '1']),
    cli(['consume', 'multi', '-B', '-d', '-p', '0', '-p', '2']),
    cli(['consume', 'multi', '-B', '-d', '-A']),
  ]);
  const values = (i: number) => lines(runs[i].stdout);
  for (const run of runs) assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(values(0), Array.from({ length: 10 }, (_, i) => `v${i}`));
  assert.deepEqual(values(1), ['v7', 'v8', 'v9']);
  assert.deepEqual(values(2), ['v8', 'v9']);
  assert.deepEqual(values(3), ['v3', 'v4', 'v5', 'v6', 'v7', 'v8', 'v9']);
  assert.deepEqual(values(4), ['v8', 'v9']);
  assert.deepEqual(values(5), ['v0', 'v1', 'v2']);
  assert.match(runs[5].stderr, /End-offset has been reached; exiting/);
  assert.deepEqual(values(6), ['p1-a', 'p1-b']);
  assert.deepEqual(values(7).sort(), ['p0-a', 'p0-b', 'p2-a', 'p2-b']);
  assert.deepEqual(values(8).sort(), ['p0-a', 'p0-b', 'p1-a', 'p1-b', 'p2-a', 'p2-b']);

  const [endBeforeStart, allAndOne, noPartition] = await Promise.all([
    cli(['consume', 'offs', '-o', '5', '--end', '3']),
    cli(['consume', 'multi', '-A', '-p', '1', '-d']),
    cli(['consume', 'offs', '-p', '5', '-d']),
  ]);
  assert.equal(endBeforeStart.code, 2);
  assert.match(endBeforeStart.stderr, /--end 3 is before the start offset 5/);
  assert.equal(allAndOne.code, 2);
  assert.equal(noPartition.code, 4);
  assert.match(noPartition.stderr, /topic "offs" has no partition 5/);
});

test('pipes: JSON lines in, -O json out (one object per line), -k, table; unknown records skipped with a note on stderr', async () => {
  await freshet.admin.createTopic('events');
  const events = Array.from({ length: 50 }, (_, i) => ({ user: `u${i % 3}`, n: i, tags: ['a', i] }));
  const input = events.map((e) => JSON.stringify(e)).join('\n') + '\nnot json\n';
  assert.equal((await cli(['produce', 'events'], input)).code, 0);
  const [json, quiet, keyed, table] = await Promise.all([
    cli(['consume', 'events', '-B', '-d', '-O', 'json']),
    cli(['consume', 'events', '-B', '-d', '-O', 'json', '--suppress-unknown']),
    cli(['consume', 'events', '-B', '-d', '-O', 'json', '-k', '--end', '0']),
    cli(['consume', 'events', '-B', '-d', '-O', 'table', '--end', '11', '--suppress-unknown']),
  ]);
  assert.equal(json.code, 0);
  assert.deepEqual(lines(json.stdout).map((line) => JSON.parse(line)), events);
  assert.match(json.stderr, /^record 0\/50 skipped: it is not JSON/);
  assert.deepEqual([quiet.stdout, quiet.stderr], [json.stdout, '']);
  assert.deepEqual(JSON.parse(keyed.stdout), { key: null, value: events[0] });
  const rows = lines(table.stdout);
  assert.equal(rows.length, 13);
  assert.match(rows[0], /^ user {2}n {3}tags$/);
  assert.equal(rows[1], ' u0    0   ["a",0]');
  assert.equal(rows[12], ' u2    11  ["a",11]');
});

test('named consumers: --consumer resumes after restarts; consumer list and delete', async () => {
  await freshet.admin.createTopic('resume');
  await produceValues('resume', Array.from({ length: 10 }, (_, i) => `r${i}`));
  const first = await cli(['consume', 'resume', '-B', '--consumer', 'billing', '--end', '3']);
  assert.deepEqual(lines(first.stdout), ['r0', 'r1', 'r2', 'r3']);
  const listed = await cli(['consumer', 'list']);
  assert.match(listed.stdout, /^ CONSUMER +TOPIC +PARTITION +OFFSET +LAST SEEN\n billing +resume +0 +3 +\d+s\n$/);
  const second = await cli(['consume', 'resume', '-B', '-d', '-c', 'billing']);
  assert.deepEqual(lines(second.stdout), ['r4', 'r5', 'r6', 'r7', 'r8', 'r9']);

  const json = await cli(['consumer', 'list', '-O', 'json']);
  assert.deepEqual(
    lines(json.stdout).map((line) => JSON.parse(line)).map((c) => [c.consumerId, c.topic, c.partition, c.offset]),
    [['billing', 'resume', 0, 9]],
  );
  const [needsTopic, deleted] = await Promise.all([cli(['consumer', 'delete', 'billing', '-p', '0']), cli(['consumer', 'delete', 'billing', '-t', 'resume', '-p', '0'])]);
  assert.equal(needsTopic.code, 2);
  assert.deepEqual([deleted.code, deleted.stdout], [0, 'consumer "billing" on topic "resume" and partition "0" deleted\n']);
  const [again, empty] = await Promise.all([cli(['consumer', 'delete', 'billing']), cli(['consumer', 'list'])]);
  assert.equal(again.code, 4);
  assert.match(again.stderr, /no consumers found/);
  assert.deepEqual([empty.stdout, empty.stderr], ['', 'No consumers found\n']);
});

test('a continuous consumer prints records as they arrive and exits 0 on SIGINT; a reader that goes away ends it quietly', async () => {
  await freshet.admin.createTopic('live');
  const live = spawnCli(['-c', node.endpoint, 'consume', 'live', '-B']);
  live.child.stdin!.end();
  let seen = '';
  const until = (text: string) =>
    new Promise<void>((resolve) => {
      const check = () => seen.includes(text) && resolve();
      live.child.stdout!.on('data', (data: Buffer) => {
        seen += data.toString();
        check();
      });
      check();
    });
  await produceValues('live', ['first']);
  await until('first\n');
  await produceValues('live', ['second']);
  await until('second\n');
  live.child.kill('SIGINT');
  const ended = await live.result;
  assert.deepEqual([ended.code, ended.stdout, ended.stderr], [0, 'first\nsecond\n', '']);

  await freshet.admin.createTopic('many');
  await produceValues('many', Array.from({ length: 30_000 }, (_, i) => `line ${i} ${'y'.repeat(40)}`));
  const head = spawnCli(['-c', node.endpoint, 'consume', 'many', '-B', '-d']);
  head.child.stdin!.end();
  head.child.stdout!.once('data', () => head.child.stdout!.destroy());
  const closed = await head.result;
  assert.deepEqual([closed.code, closed.stderr], [0, '']);
});

test('consume runs SmartModules on the node: --smartmodule (stored), --smartmodule-path (local .wasm), -e params', async () => {
  const wasm = (await regexFilter)!;
  const file = path.join(dir, 'regex-filter.wasm');
  await writeFile(file, wasm);
  await freshet.admin.createSmartModule('regex', wasm);
  await freshet.admin.createTopic('fruit');
  await produceValues('fruit', ['apple', 'banana', 'cherry']);
  const [stored, local, missingParam, unknown, paramsAlone] = await Promise.all([
    cli(['consume', 'fruit', '-B', '-d', '--smartmodule', 'regex', '-e', 'regex=an']),
    cli(['consume', 'fruit', '-B', '-d', '--smartmodule-path', file, '--params', 'regex=^c']),
    cli(['consume', 'fruit', '-B', '-d', '--smartmodule-path', file]),
    cli(['consume', 'fruit', '-B', '-d', '--smartmodule', 'nope']),
    cli(['consume', 'fruit', '-B', '-d', '-e', 'regex=a']),
  ]);
  assert.deepEqual([stored.code, stored.stdout], [0, 'banana\n']);
  assert.deepEqual([local.code, local.stdout], [0, 'cherry\n']);
  assert.equal(missingParam.code, 5);
  assert.match(missingParam.stderr, /Missing param regex/);
  assert.equal(unknown.code, 4);
  assert.match(unknown.stderr, /not found.*nope/i);
  assert.equal(paramsAlone.code, 2);
  assert.match(paramsAlone.stderr, /--params and --aggregate-initial need --smartmodule or --smartmodule-path/);
});

test('errors: unknown topic (the topics that exist), a record too large (delivery), an unreadable file', async () => {
  const [produceUnknown, consumeUnknown, tooLarge, missingFile] = await Promise.all([
    cli(['produce', 'nope'], 'x\n'),
    cli(['consume', 'nope', '-B', '-d']),
    cli(['produce', 'lines', '--max-request-size', '1000'], 'z'.repeat(2000) + '\n'),
    cli(['produce', 'lines', '-f', path.join(dir, 'missing.txt')]),
  ]);
  for (const result of [produceUnknown, consumeUnknown]) {
    assert.equal(result.code, 4);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /topic "nope" not found; topics that exist: .*lines/);
  }
  assert.equal(tooLarge.code, 6);
  assert.match(tooLarge.stderr, /exceeds maxRequestSize \(1000 bytes\)/);
  assert.equal(missingFile.code, 1);
  assert.match(missingFile.stderr, /cannot read .*missing\.txt/);
});
