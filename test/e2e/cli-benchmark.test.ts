// `freshet benchmark producer|consumer` as a subprocess against a test node:
// the records it says it sent are stored, its JSON and table parse, it
// removes only the topics it created, a progress bar on a terminal only, and
// bad flags are usage errors (exit 2) that say what is wrong.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestNode, stopTestNode, createTopic } from '../helpers/test-node.js';
import { lines, runCli } from '../helpers/cli.js';
import { Freshet } from '../../src/client/index.js';

let node: Awaited<ReturnType<typeof startTestNode>>;
let freshet: Freshet;
const cli = (args: string[], options: Parameters<typeof runCli>[1] = {}) => runCli(['-c', node.endpoint, 'benchmark', ...args], options);

before(async () => {
  node = await startTestNode();
  freshet = await Freshet.connect({ endpoint: node.endpoint });
});

after(async () => {
  await freshet.close();
  await stopTestNode(node);
});

async function storedRecords(topic: string): Promise<number> {
  const partitions = await freshet.admin.listPartitions(topic);
  return partitions.reduce((sum, p) => sum + p.logEndOffset, 0);
}

interface BenchmarkJson {
  benchmark: string;
  topic: string;
  records: number;
  recordBytes: number;
  recordsPerSecond: number;
  megabytesPerSecond: number;
  latencyMs: { min: number; p50: number; p99: number; p999: number; max: number };
}

function parseJson(stdout: string): BenchmarkJson {
  const [line, ...rest] = lines(stdout);
  assert.deepEqual(rest, [], 'one JSON object');
  return JSON.parse(line) as BenchmarkJson;
}

function checkFigures(result: BenchmarkJson): void {
  assert.ok(result.recordsPerSecond > 0 && result.megabytesPerSecond > 0, JSON.stringify(result));
  const { min, p50, p99, p999, max } = result.latencyMs;
  assert.ok(min > 0 && min <= p50 && p50 <= p99 && p99 <= p999 && p999 <= max, JSON.stringify(result.latencyMs));
}

test('producer: the count is stored in a kept topic, across partitions and producers, and the JSON says so', async () => {
  const run = await cli(
    ['producer', '--num-records', '700', '--record-size', '512', '--num-producers', '2', '-p', '3', '-t', 'bench-kept', '-k', '--compression', 'lz4', '-b', '4kib', '--record-key-allocation-strategy', 'random-key', '-O', 'json'],
  );
  assert.equal(run.code, 0, run.stderr);
  const result = parseJson(run.stdout);
  assert.equal(result.benchmark, 'producer');
  assert.equal(result.topic, 'bench-kept');
  assert.equal(result.records, 1400);
  assert.equal(result.recordBytes, 512);
  checkFigures(result);
  assert.equal((await freshet.admin.describeTopic('bench-kept')).partitions, 3);
  assert.equal(await storedRecords('bench-kept'), 1400);
  assert.match(run.stderr, /created topic bench-kept/);
  assert.doesNotMatch(run.stderr, /deleted/);
});

test('producer: a topic the benchmark created is deleted afterwards; the table has the figures', async () => {
  const before = (await freshet.admin.listTopics()).map((t) => t.name);
  const run = await cli(['producer', '--num-records', '300', '--record-size', '1kib', '--linger', '0ms']);
  assert.equal(run.code, 0, run.stderr);
  const [header, row, summary] = lines(run.stdout);
  assert.deepEqual(header.trim().split(/\s{2,}/), ['BENCHMARK', 'RECORDS', 'RECORD SIZE', 'RECORDS/S', 'MB/S', 'P50 MS', 'P95 MS', 'P99 MS', 'P99.9 MS', 'MAX MS']);
  const cells = row.trim().split(/\s{2,}/);
  assert.equal(cells[0], 'producer');
  assert.equal(cells[1], '300');
  assert.equal(cells[2], '1.0 KiB');
  for (const cell of cells.slice(3)) assert.ok(Number(cell.replace(/,/g, '')) > 0, `a positive figure: ${cell}`);
  assert.match(summary, /latency: send → acknowledgement/);
  const created = /created topic (benchmark-[a-z]{10})/.exec(run.stderr)?.[1];
  assert.ok(created, run.stderr);
  assert.match(run.stderr, new RegExp(`deleted topic ${created}`));
  assert.deepEqual((await freshet.admin.listTopics()).map((t) => t.name), before);
});

test('producer into an existing topic: its records are added and the topic is kept', async () => {
  await createTopic(node, 'bench-existing', 2);
  const run = await cli(['producer', '--num-records', '200', '--record-size', '100', '-t', 'bench-existing', '--json']);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(parseJson(run.stdout).records, 200);
  assert.equal(await storedRecords('bench-existing'), 200);
  assert.doesNotMatch(run.stderr, /created|deleted/);
});

test('consumer: every consumer receives every record sent at a steady rate; latency is send → arrival', async () => {
  const run = await cli(['consumer', '--num-records', '400', '--record-size', '256', '--rate', '2000', '--num-consumers', '2', '-p', '2', '--json']);
  assert.equal(run.code, 0, run.stderr);
  const result = parseJson(run.stdout);
  assert.equal(result.benchmark, 'consumer');
  assert.equal(result.records, 800);
  checkFigures(result);
});

test('consumer on a topic that has records: it reads only what it sent', async () => {
  const run = await cli(['consumer', '--num-records', '150', '-t', 'bench-kept', '--json']);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(parseJson(run.stdout).records, 150);
  assert.equal(await storedRecords('bench-kept'), 1550);
});

test('a progress bar on a terminal only', async () => {
  const onTerminal = await cli(['producer', '--num-records', '2000', '--record-size', '1kib', '--json'], { fakeTty: ['stderr'] });
  assert.equal(onTerminal.code, 0, onTerminal.stderr);
  assert.match(onTerminal.stderr, /\[=*>? *\] +100% /);
  const piped = await cli(['producer', '--num-records', '2000', '--record-size', '1kib', '--json']);
  assert.doesNotMatch(piped.stderr, /%/);
  parseJson(piped.stdout);
});

test('bad flags: usage errors with exit status 2 that name the problem', async () => {
  const cases: [string[], RegExp][] = [
    [['producer', '--num-records', '0'], /--num-records.*expected a record count \(a positive integer\), got "0"/],
    [['producer', '--record-size', 'big'], /--record-size.*expected a size/],
    [['producer', '--compression', 'brotli'], /expected one of none, gzip, snappy, lz4, zstd/],
    [['producer', '-c', '127.0.0.1:9003'], /-c is the compression, as in fluvio; the node goes before it: freshet -c 127.0.0.1:9003 benchmark/],
    [['producer', '--linger', 'soon'], /expected a duration/],
    [['producer', '--record-key-allocation-strategy', 'every-other'], /expected one of no-key, all-share-same-key/],
    [['producer', '--rate', '-5'], /expected records per second/],
    [['producer', '-O', 'yaml'], /not supported/],
    [['producer', '--no-such-flag'], /unknown option '--no-such-flag'/],
    [['producer', '--record-size', '2mib'], /does not fit in a produce request/],
    [['consumer', '--record-size', '4'], /at least 8 bytes/],
    [['sideways'], /unknown command 'sideways'/],
  ];
  for (const [args, message] of cases) {
    const run = await cli(args);
    assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, message, args.join(' '));
    assert.equal(run.stdout, '', args.join(' '));
  }
  // Nothing was created by the refused runs.
  assert.deepEqual((await freshet.admin.listTopics()).map((t) => t.name).filter((name) => name.startsWith('benchmark-')), []);
});
