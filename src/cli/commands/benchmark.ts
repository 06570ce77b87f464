// `freshet benchmark producer|consumer`, after `fluvio benchmark producer`:
// the same flags (record size, count, batch size, linger, compression,
// partitions, producers, key strategy, topic), against the node of the global
// -c/-P. A table of records/s, MB/s and latency percentiles on stdout (one
// JSON object with -O json / --json), a progress bar on a terminal. Fluvio's
// `benchmark consumer` is a stub; ours tails the topic while a producer load
// runs and times each record from send to arrival.

import { randomBytes } from 'node:crypto';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Freshet, ProducerOptions } from '../../client/index.js';
import { KEY_STRATEGIES, SEND_TIME_BYTES, runConsumerBenchmark, runProducerBenchmark, type BenchmarkResult, type KeyStrategy, type LoadSpec } from '../benchmark.js';
import { withClient } from '../context.js';
import { styleFor } from '../output/colour.js';
import { CliError, ExitCode, usageError } from '../output/errors.js';
import { examples, jsonLine, note, parseListFormat, type ListFormat } from '../output/format.js';
import { ProgressBar } from '../output/progress.js';
import { renderTable } from '../output/table.js';
import { formatBytes, parseByteSize, parseDuration } from '../output/units.js';
import { stdoutWriter } from '../output/writer.js';
import { COMPRESSIONS, parseCompression } from '../options.js';
import type { CompressionName } from '../../client/index.js';

interface BenchmarkFlags {
  batchSize: number;
  queueSize: number;
  maxRequestSize?: number;
  linger?: number;
  serverTimeout: number;
  compression: CompressionName;
  workerTimeout: number;
  recordKeyAllocationStrategy: KeyStrategy;
  numProducers: number;
  numConsumers?: number;
  numRecords: number;
  recordSize: number;
  rate?: number;
  partitions: number;
  replicas: number;
  topicName?: string;
  keepTopic?: boolean;
  ignoreRack?: boolean;
  output: ListFormat;
  json?: boolean;
}

function parsePositive(what: string) {
  return (text: string): number => {
    const value = Number(text);
    if (text.trim() === '' || !Number.isSafeInteger(value) || value < 1) throw new InvalidArgumentError(`expected ${what} (a positive integer), got "${text}"`);
    return value;
  };
}

function parseRate(text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value <= 0) throw new InvalidArgumentError(`expected records per second (a positive number), got "${text}"`);
  return value;
}

function parseKeyStrategy(text: string): KeyStrategy {
  if (!(KEY_STRATEGIES as readonly string[]).includes(text)) throw new InvalidArgumentError(`expected one of ${KEY_STRATEGIES.join(', ')}`);
  return text as KeyStrategy;
}

/** `-c` after the command is the compression (as in fluvio): say where the node's address goes. */
function parseBenchmarkCompression(text: string): CompressionName {
  try {
    return parseCompression(text);
  } catch (err) {
    if (/:\d+$/.test(text)) {
      throw new InvalidArgumentError(`${(err as Error).message} (after the command, -c is the compression, as in fluvio; the node goes before it: freshet -c ${text} benchmark ...)`);
    }
    throw err;
  }
}

function parsePositiveByteSize(text: string): number {
  const bytes = parseByteSize(text);
  if (bytes < 1) throw new InvalidArgumentError(`expected at least 1 byte, got "${text}"`);
  return bytes;
}

/** Flags of the load both benchmarks send (fluvio benchmark producer's, with its defaults where they mean the same here). */
function addLoadOptions(command: Command, defaultRecordSize: string): Command {
  return command
    .addOption(new Option('-b, --batch-size <bytes>', 'producer batch size').argParser(parsePositiveByteSize).default(16 * 1024, '16kib'))
    .addOption(new Option('-q, --queue-size <n>', 'batches a producer keeps unacknowledged before it waits').argParser(parsePositive('a batch count')).default(100))
    .addOption(new Option('--max-request-size <bytes>', "largest produce request (default: the producer's, 1 MiB)").argParser(parsePositiveByteSize))
    .addOption(new Option('-l, --linger <time>', "how long a batch waits for more records (default: the producer's: none while no request is in flight, up to 5ms while one is)").argParser(parseDuration))
    .addOption(new Option('--server-timeout <time>', 'deadline of one produce request').argParser(parseDuration).default(5000, '5000ms'))
    .addOption(new Option('-c, --compression <compression>', `batch compression: ${COMPRESSIONS.join(', ')}`).argParser(parseBenchmarkCompression).default('none'))
    .addOption(new Option('--worker-timeout <time>', 'give up (exit 1) when the benchmark has not finished after this long').argParser(parseDuration).default(3_000_000, '3000s'))
    .addOption(new Option('--record-key-allocation-strategy <strategy>', `record keys: ${KEY_STRATEGIES.join(', ')}`).argParser(parseKeyStrategy).default('no-key'))
    .addOption(new Option('--num-producers <n>', 'producers sending at once').argParser(parsePositive('a producer count')).default(1))
    .addOption(new Option('--num-records <n>', 'records each producer sends').argParser(parsePositive('a record count')).default(10_000))
    .addOption(new Option('--record-size <bytes>', 'size of each record value').argParser(parsePositiveByteSize).default(parseByteSize(defaultRecordSize), defaultRecordSize))
    .addOption(new Option('--rate <records/s>', 'send at this steady rate per producer (default: as fast as the node acknowledges)').argParser(parseRate))
    .addOption(new Option('-p, --partitions <n>', 'partitions of the topic, when the benchmark creates it').argParser(parsePositive('a partition count')).default(1))
    .addOption(new Option('-r, --replicas <n>', 'replicas of the topic, when the benchmark creates it').argParser(parsePositive('a replica count')).default(1))
    .option('-t, --topic-name <name>', 'topic to use (created if missing; default benchmark-<10 random letters>)')
    .option('-k, --keep-topic', 'keep a topic the benchmark created (by default it is deleted afterwards; an existing topic is always kept)')
    .option('--ignore-rack', 'ignore rack assignment when creating the topic')
    .addOption(new Option('-O, --output <type>', 'output: table, or json (one JSON object)').argParser(parseListFormat).default('table'))
    .option('--json', 'the same as -O json');
}

function loadSpec(flags: BenchmarkFlags): LoadSpec {
  const producerOptions: ProducerOptions = { batchSize: flags.batchSize, compression: flags.compression, requestTimeoutMs: flags.serverTimeout };
  if (flags.linger !== undefined) producerOptions.lingerMs = flags.linger;
  if (flags.maxRequestSize !== undefined) producerOptions.maxRequestSize = flags.maxRequestSize;
  if (flags.recordSize + 64 > (flags.maxRequestSize ?? 1024 * 1024)) {
    throw usageError(`--record-size ${formatBytes(flags.recordSize)} does not fit in a produce request of ${formatBytes(flags.maxRequestSize ?? 1024 * 1024)}`, 'raise --max-request-size');
  }
  return {
    records: flags.numRecords,
    recordBytes: flags.recordSize,
    producers: flags.numProducers,
    rate: flags.rate,
    keys: flags.recordKeyAllocationStrategy,
    windowBytes: flags.queueSize * flags.batchSize,
    producerOptions,
  };
}

function randomTopicName(): string {
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  return `benchmark-${[...randomBytes(10)].map((byte) => letters[byte % letters.length]).join('')}`;
}

/** Creates the topic if it is missing; says whether it did (only a topic the benchmark created is deleted). */
async function ensureTopic(freshet: Freshet, topic: string, flags: BenchmarkFlags): Promise<boolean> {
  const exists = (await freshet.admin.listTopics()).some((info) => info.name === topic);
  if (exists) return false;
  await freshet.admin.createTopic(topic, { partitions: flags.partitions, replicationFactor: flags.replicas, ignoreRackAssignment: flags.ignoreRack === true });
  note(`created topic ${topic}`);
  return true;
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CliError(`the benchmark did not finish within --worker-timeout (${ms} ms)`, ExitCode.ERROR)), ms);
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}

const ms = (value: number) => value.toFixed(2);

async function printResult(kind: 'producer' | 'consumer', topic: string, flags: BenchmarkFlags, r: BenchmarkResult): Promise<void> {
  const out = stdoutWriter();
  if (flags.json === true || flags.output === 'json') {
    const { latency } = r;
    await out.write(
      jsonLine({
        benchmark: kind,
        topic,
        records: r.records,
        recordBytes: flags.recordSize,
        bytes: r.bytes,
        seconds: r.seconds,
        recordsPerSecond: r.recordsPerSecond,
        megabytesPerSecond: r.megabytesPerSecond,
        producers: flags.numProducers,
        ...(kind === 'consumer' ? { consumers: flags.numConsumers } : {}),
        latency: kind === 'producer' ? 'send to acknowledgement' : 'send to arrival at the consumer',
        latencyMs: { min: latency.minMs, mean: latency.meanMs, p50: latency.p50Ms, p95: latency.p95Ms, p99: latency.p99Ms, p999: latency.p999Ms, max: latency.maxMs },
      }),
    );
  } else {
    const header = ['BENCHMARK', 'RECORDS', 'RECORD SIZE', 'RECORDS/S', 'MB/S', 'P50 MS', 'P95 MS', 'P99 MS', 'P99.9 MS', 'MAX MS'];
    const l = r.latency;
    const row = [
      kind,
      r.records.toLocaleString('en-US'),
      formatBytes(flags.recordSize),
      Math.round(r.recordsPerSecond).toLocaleString('en-US'),
      r.megabytesPerSecond.toFixed(1),
      ms(l.p50Ms),
      ms(l.p95Ms),
      ms(l.p99Ms),
      ms(l.p999Ms),
      ms(l.maxMs),
    ];
    await out.write(renderTable(header, [row], { right: [1, 2, 3, 4, 5, 6, 7, 8, 9], style: styleFor(process.stdout) }));
    await out.write(
      ` latency: ${kind === 'producer' ? 'send → acknowledgement' : 'send → arrival at the consumer'}, min ${ms(l.minMs)} ms, mean ${ms(l.meanMs)} ms; ${r.seconds.toFixed(2)} s\n`,
    );
  }
  await out.flush();
}

async function runBenchmark(kind: 'producer' | 'consumer', flags: BenchmarkFlags, command: Command): Promise<void> {
  const spec = loadSpec(flags);
  if (kind === 'consumer' && flags.recordSize < SEND_TIME_BYTES) {
    throw usageError(`--record-size must be at least ${SEND_TIME_BYTES} bytes for a consumer benchmark (each record carries its send time), not ${flags.recordSize}`);
  }
  const topic = flags.topicName ?? randomTopicName();
  await withClient(command, async (freshet) => {
    const created = await ensureTopic(freshet, topic, flags);
    const expected = spec.records * spec.producers * (kind === 'consumer' ? (flags.numConsumers ?? 1) : 1);
    const progress = new ProgressBar(expected * spec.recordBytes);
    const advance = () => progress.advance(spec.recordBytes);
    let outcome: BenchmarkResult;
    try {
      const work =
        kind === 'producer'
          ? runProducerBenchmark(freshet, topic, spec, advance)
          : runConsumerBenchmark(freshet, topic, { ...spec, consumers: flags.numConsumers ?? 1 }, advance);
      outcome = await withTimeout(work, flags.workerTimeout);
      progress.finish();
    } finally {
      if (created && flags.keepTopic !== true) {
        await freshet.admin.deleteTopic(topic);
        note(`deleted topic ${topic}`);
      }
    }
    await printResult(kind, topic, flags, outcome);
  });
}

export function benchmarkCommand(): Command {
  const benchmark = new Command('benchmark')
    .alias('bench')
    .description('measure produce and consume against the node: records/s, MB/s and latency percentiles')
    .addHelpText(
      'after',
      examples(
        'freshet benchmark producer --num-records 100000 --record-size 1kib',
        'freshet -c 127.0.0.1:9103 benchmark producer -p 3 --compression lz4 -O json',
        'freshet benchmark consumer --rate 1000 --num-records 10000 --record-size 1kib',
      ),
    );
  benchmark.addCommand(
    addLoadOptions(
      new Command('producer').description('producers send records as fast as the node acknowledges them (or at --rate); latency is send → acknowledgement'),
      '5kib',
    )
      .addHelpText(
        'after',
        examples(
          'freshet benchmark producer',
          'freshet benchmark producer --num-records 100000 --record-size 1kib --batch-size 64kib --linger 10ms',
          'freshet benchmark producer --num-producers 4 -p 4 --record-key-allocation-strategy producer-worker-unique-key',
          'freshet benchmark producer --rate 1000 --record-size 1kib -O json | jq .latencyMs.p99',
        ),
      )
      .action((flags: BenchmarkFlags, command: Command) => runBenchmark('producer', flags, command)),
  );
  benchmark.addCommand(
    addLoadOptions(
      new Command('consumer').description('consumers tail the topic while producers send records; latency is send → arrival at the consumer'),
      '1kib',
    )
      .addOption(new Option('--num-consumers <n>', 'consumers that each read every record').argParser(parsePositive('a consumer count')).default(1))
      .addHelpText(
        'after',
        examples(
          'freshet benchmark consumer',
          'freshet benchmark consumer --num-consumers 8 --num-records 50000',
          'freshet benchmark consumer --rate 10000 --num-records 100000 --json',
        ),
      )
      .action((flags: BenchmarkFlags, command: Command) => runBenchmark('consumer', flags, command)),
  );
  return benchmark;
}
