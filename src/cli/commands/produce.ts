import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { CompressionName, Producer, ProducerOptions } from '../../client/index.js';
import { withClient } from '../context.js';
import { styleFor } from '../output/colour.js';
import { CliError } from '../output/errors.js';
import { examples, note } from '../output/format.js';
import { ProgressBar } from '../output/progress.js';
import { formatBytes, parseByteSize, parseCount, parseDuration } from '../output/units.js';
import { LineSplitter } from '../lines.js';
import { COMPRESSIONS, parseCompression, parseDeliverySemantic, parseIsolation, type Isolation } from '../options.js';
import { addSmartModuleOptions, smartModuleSpecs, type SmartModuleFlags } from '../smartmodule-flags.js';

interface ProduceFlags extends SmartModuleFlags {
  verbose?: boolean;
  key?: string;
  keySeparator?: string;
  raw?: boolean;
  file?: string;
  compression?: CompressionName;
  linger?: number;
  batchSize?: number;
  maxRequestSize?: number;
  isolation?: Isolation;
  deliverySemantic?: 'at-least-once' | 'at-most-once';
  partition?: number;
}

function parseSeparator(text: string): string {
  if (text === '') throw new InvalidArgumentError('must be non-empty. If using \'=\', type it as \'--key-separator "="\'');
  return text;
}

async function producerOptions(flags: ProduceFlags): Promise<ProducerOptions> {
  const options: ProducerOptions = {};
  const smartmodules = await smartModuleSpecs(flags);
  if (smartmodules.length > 0) options.smartmodules = smartmodules;
  if (flags.compression) options.compression = flags.compression;
  if (flags.linger !== undefined) options.lingerMs = flags.linger;
  if (flags.batchSize !== undefined) options.batchSize = flags.batchSize;
  if (flags.maxRequestSize !== undefined) options.maxRequestSize = flags.maxRequestSize;
  if (flags.isolation) options.isolation = flags.isolation;
  if (flags.deliverySemantic === 'at-most-once') options.deliveryTimeoutMs = 0;
  return options;
}

/**
 * Sends without waiting for each acknowledgement: many records are in
 * flight, and reading pauses while more than `limit` bytes are unacknowledged.
 */
class SendWindow {
  private bytes = 0;
  private wake: (() => void) | undefined;
  firstError: Error | undefined;
  sent = 0;

  constructor(private readonly limit: number) {}

  add(promise: Promise<unknown>, size: number): void {
    this.bytes += size;
    this.sent++;
    const release = () => {
      this.bytes -= size;
      if (this.wake && this.bytes <= this.limit / 2) {
        const wake = this.wake;
        this.wake = undefined;
        wake();
      }
    };
    promise.then(release, (err: Error) => {
      this.firstError ??= err;
      release();
    });
  }

  /** Resolves once there is room for more (at once if there is). */
  room(): Promise<void> | undefined {
    if (this.firstError) throw this.firstError;
    return this.bytes < this.limit ? undefined : new Promise((resolve) => (this.wake = resolve));
  }
}

async function produceLines(producer: Producer, input: NodeJS.ReadableStream, flags: ProduceFlags, progress?: ProgressBar): Promise<number> {
  const separator = flags.keySeparator === undefined ? undefined : Buffer.from(flags.keySeparator);
  const window = new SendWindow(4 * 1024 * 1024);
  const splitter = new LineSplitter();
  let lineNumber = 0;
  const onLine = (line: Buffer) => {
    lineNumber++;
    let key: Buffer | string | null = flags.key ?? null;
    let value = line;
    if (separator) {
      const at = line.indexOf(separator);
      if (at < 0) {
        note(`line ${lineNumber} has no separator "${flags.keySeparator}": skipped`);
        return;
      }
      key = line.subarray(0, at);
      value = line.subarray(at + separator.length);
      if (flags.verbose) process.stdout.write(`[${key.toString()}] ${value.toString()}\n`);
    }
    window.add(producer.sendRecord({ key, value, partition: flags.partition }), value.length + (key?.length ?? 0) + 64);
  };
  for await (const chunk of input) {
    splitter.push(chunk as Buffer, onLine);
    progress?.advance((chunk as Buffer).length);
    await window.room();
  }
  splitter.end(onLine);
  await producer.flush();
  // Records refused before they were queued (too large, no such partition) do not fail flush().
  if (window.firstError) throw window.firstError;
  return window.sent;
}

/** stdin on a terminal: a prompt, and `Ok!` once each line is stored. */
async function produceInteractive(producer: Producer, flags: ProduceFlags): Promise<void> {
  const style = styleFor(process.stderr);
  const lines = createInterface({ input: process.stdin, output: process.stderr, prompt: '> ' });
  lines.prompt();
  for await (const line of lines) {
    const at = flags.keySeparator === undefined ? -1 : line.indexOf(flags.keySeparator);
    if (flags.keySeparator !== undefined && at < 0) note(`no separator "${flags.keySeparator}" in that line: skipped`);
    else {
      const [key, value] = at < 0 ? [flags.key ?? null, line] : [line.slice(0, at), line.slice(at + flags.keySeparator!.length)];
      await producer.send(key, value, { partition: flags.partition });
      process.stderr.write(style.green('Ok!') + '\n');
    }
    lines.prompt();
  }
}

async function readAll(input: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of input) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function runProduce(topic: string, flags: ProduceFlags, command: Command): Promise<void> {
  let size = 0;
  if (flags.file !== undefined) {
    try {
      size = (await stat(flags.file)).size;
    } catch (err) {
      throw new CliError(`cannot read ${flags.file}: ${(err as Error).message}`);
    }
  }
  const input = flags.file !== undefined ? createReadStream(flags.file, { highWaterMark: 1024 * 1024 }) : process.stdin;
  await withClient(command, async (freshet) => {
    const producer = await freshet.producer(topic, await producerOptions(flags));
    if (flags.raw) {
      await producer.send(flags.key ?? null, await readAll(input), { partition: flags.partition });
    } else if (flags.file === undefined && process.stdin.isTTY) {
      await produceInteractive(producer, flags);
    } else {
      const progress = new ProgressBar(size >= 1024 * 1024 ? size : 0);
      const started = Date.now();
      const count = await produceLines(producer, input, flags, progress);
      progress.finish();
      if (progress.enabled) {
        const seconds = (Date.now() - started) / 1000;
        note(`${count.toLocaleString('en-US')} records (${formatBytes(size)}) produced to "${topic}" in ${seconds.toFixed(1)} s`);
      }
    }
    await producer.flush();
  });
}

export function produceCommand(): Command {
  const command = new Command('produce')
    .description('write records to a topic: one per line of stdin (or of --file), or the whole input with --raw')
    .argument('<topic>', 'topic to write to')
    .option('-v, --verbose', 'with --key-separator, print each record as `[key] value`')
    .addOption(new Option('--key <key>', 'give every record this key').conflicts('keySeparator'))
    .addOption(new Option('--key-separator <separator>', 'split each line at the first separator into key and value; lines without it are skipped').argParser(parseSeparator).conflicts('raw'))
    .option('--raw', 'send the whole input as one record (binary safe)')
    .option('-f, --file <path>', 'read from this file instead of stdin (a progress bar shows on a terminal)')
    .addOption(new Option('--compression <compression>', `batch compression: ${COMPRESSIONS.join(', ')} (default none)`).argParser(parseCompression))
    .addOption(new Option('--linger <time>', 'how long a batch waits for more records: 0ms, 150ms, 1s (default: none while no request is in flight, up to 5ms while one is)').argParser(parseDuration))
    .addOption(new Option('--batch-size <bytes>', 'largest batch in bytes (default 16384)').argParser(parseByteSize))
    .addOption(new Option('--max-request-size <bytes>', 'largest produce request, and so record, in bytes (default 1048576)').argParser(parseByteSize))
    .addOption(new Option('--isolation <isolation>', 'read_uncommitted (default) or read_committed').argParser(parseIsolation))
    .addOption(new Option('--delivery-semantic <semantic>', 'at-least-once (default: retried) or at-most-once (sent once)').argParser(parseDeliverySemantic))
    .addOption(new Option('-p, --partition <integer>', 'send every record to this partition (default: by key, round-robin without)').argParser(parseCount));
  return addSmartModuleOptions(command, 'on each batch before it is stored')
    .addHelpText(
      'after',
      examples(
        "echo 'hello' | freshet produce events",
        "printf 'alice=Alice\\nbob=Bob\\n' | freshet produce people --key-separator '='",
        'freshet produce events -f events.jsonl --compression zstd --linger 10ms',
        'freshet produce blobs --raw --key img-1 -f photo.jpg',
        "freshet produce pets --smartmodule infinyon/regex-filter -e regex='[Cc]at'   # store only matching lines",
        'freshet produce events      # on a terminal: type records, one per line; Ctrl-D ends',
      ),
    )
    .action(runProduce);
}
