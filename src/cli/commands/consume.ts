import { Command, InvalidArgumentError, Option } from 'commander';
import type { ConsumerOptions, OffsetSpec } from '../../client/index.js';
import { withClient } from '../context.js';
import { styleFor } from '../output/colour.js';
import { usageError } from '../output/errors.js';
import { examples, note } from '../output/format.js';
import { RECORD_FORMATS, recordPrinter, type RecordFormat } from '../output/records.js';
import { collect, parseCount } from '../output/units.js';
import { stdoutWriter } from '../output/writer.js';
import { parseIsolation, type Isolation } from '../options.js';
import { addSmartModuleOptions, smartModuleSpecs, type SmartModuleFlags } from '../smartmodule-flags.js';

interface ConsumeFlags extends SmartModuleFlags {
  partition?: number[];
  allPartitions?: boolean;
  disableContinuous?: boolean;
  keyValue?: boolean;
  format?: string;
  beginning?: boolean;
  head?: number;
  tail?: number;
  offset?: number;
  start?: number;
  end?: number;
  maxbytes?: number;
  isolation?: Isolation;
  suppressUnknown?: boolean;
  output: RecordFormat;
  consumer?: string;
  group?: string;
  kafka?: string;
}

function parseRecordFormat(text: string): RecordFormat {
  const format = text.toLowerCase() as RecordFormat;
  if (!RECORD_FORMATS.includes(format)) throw new InvalidArgumentError(`expected one of ${RECORD_FORMATS.join(', ')}`);
  return format;
}

function startOffset(flags: ConsumeFlags): { spec: OffsetSpec; text: string } {
  if (flags.beginning) return { spec: 'beginning', text: ' starting from the beginning of log' };
  if (flags.head !== undefined) return { spec: { from: 'beginning', index: flags.head }, text: ` starting ${flags.head} from the beginning of log` };
  if (flags.tail !== undefined) return { spec: { from: 'end', index: flags.tail }, text: ` starting ${flags.tail} from the end of log` };
  const absolute = flags.offset ?? flags.start;
  if (absolute !== undefined) return { spec: { absolute }, text: ` starting at offset ${absolute}` };
  return { spec: 'end', text: '' };
}

async function consumerOptions(flags: ConsumeFlags, start: OffsetSpec): Promise<ConsumerOptions> {
  const options: ConsumerOptions = { offset: start, continuous: !flags.disableContinuous };
  if (flags.partition) options.partition = flags.partition;
  if (flags.end !== undefined) {
    if (typeof start === 'object' && 'absolute' in start && flags.end < start.absolute) {
      throw usageError(`--end ${flags.end} is before the start offset ${start.absolute}`);
    }
    options.end = flags.end;
  }
  if (flags.maxbytes !== undefined) options.maxBytes = flags.maxbytes;
  if (flags.isolation) options.isolation = flags.isolation;
  if (flags.consumer !== undefined) options.consumerId = flags.consumer;
  const modules = await smartModuleSpecs(flags);
  if (modules.length > 0) options.smartmodules = modules;
  return options;
}

async function runConsume(topic: string, flags: ConsumeFlags, command: Command): Promise<void> {
  const printer = recordPrinter({
    format: flags.output,
    keyValue: flags.keyValue,
    template: flags.format,
    suppressUnknown: flags.suppressUnknown,
    tableBufferRows: flags.disableContinuous ? 1000 : 0,
  });
  const start = startOffset(flags);
  const options = await consumerOptions(flags, start.spec);
  const out = stdoutWriter();
  if (flags.group !== undefined) {
    const positional = ['partition', 'head', 'tail', 'offset', 'start', 'end', 'consumer'] as const;
    const clash = positional.find((name) => flags[name] !== undefined);
    if (clash) throw usageError(`--group cannot be used with --${clash}: the group decides partitions and positions`);
  }
  await withClient(command, async (freshet) => {
    if (flags.kafka !== undefined) freshet.kafkaEndpoint = flags.kafka;
    const consumer =
      flags.group !== undefined
        ? await freshet.groupConsumer(topic, { group: flags.group, startAt: flags.beginning ? 'beginning' : 'end', stopWhenIdle: flags.disableContinuous === true })
        : await freshet.consumer(topic, options);
    if (process.stdout.isTTY) {
      const until = flags.end !== undefined ? ` until offset ${flags.end} (inclusive)` : '';
      process.stderr.write(styleFor(process.stderr).bold(`Consuming records from '${topic}'${start.text}${until}`) + '\n');
    }
    let interrupted = false;
    const stop = () => {
      if (interrupted) process.exit(0);
      interrupted = true;
      void consumer.close();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    void out.readerGone.then(stop);
    for await (const record of consumer) {
      const text = printer.print(record);
      if (text) await out.write(text);
    }
    await out.write(printer.end());
    await out.flush();
    if (interrupted) return;
    if (flags.end !== undefined) note('End-offset has been reached; exiting');
    else if (!flags.disableContinuous) note('Consumer stream has closed');
  });
}

export function consumeCommand(): Command {
  const command = new Command('consume')
    .description('read records from a topic (by default: all partitions, from the end, until Ctrl-C)')
    .argument('<topic>', 'topic to read')
    .addOption(new Option('-p, --partition <integer>', 'only this partition (repeatable; default: all partitions)').argParser(collect(parseCount)))
    .addOption(new Option('-A, --all-partitions', 'read every partition (the default; kept for fluvio scripts)').conflicts('partition'))
    .option('-d, --disable-continuous', 'stop at the end of the log instead of waiting for new records')
    .option('-k, --key-value', 'print `[key] value` ([null] for records without a key)')
    .addOption(new Option('-F, --format <format>', 'print each record with a template: {{key}} {{value}} {{offset}} {{partition}} {{time}}').conflicts('output'))
    .addOption(new Option('-B, --beginning', 'start at the beginning of the log').conflicts(['head', 'tail', 'offset', 'start']))
    .addOption(new Option('-H, --head <integer>', 'start this many records after the beginning of the log').argParser(parseCount).conflicts(['tail', 'offset', 'start']))
    .addOption(new Option('-T, --tail <integer>', 'start this many records before the end of the log (the last N, then new ones)').argParser(parseCount).conflicts(['offset', 'start']))
    .addOption(new Option('-o, --offset <integer>', 'start at this absolute offset').argParser(parseCount).conflicts('start'))
    .addOption(new Option('--start <integer>', 'same as --offset (fluvio spelling)').argParser(parseCount))
    .addOption(new Option('--end <integer>', 'stop after this offset (inclusive)').argParser(parseCount))
    .addOption(new Option('-b, --maxbytes <integer>', 'largest fetch in bytes (default 1 MiB)').argParser(parseCount))
    .addOption(new Option('--isolation <isolation>', 'read_uncommitted (default) or read_committed').argParser(parseIsolation))
    .option('--suppress-unknown', 'skip, without a note, records the output type cannot show')
    .addOption(
      new Option('-O, --output <type>', 'dynamic (text, hex for binary), text, binary (hex dump), json (one per line), raw, table')
        .argParser(parseRecordFormat)
        .default('dynamic'),
    )
    .option('-c, --consumer <id>', 'named consumer: its position is stored on the node and resumed next time')
    .option('-g, --group <group>', 'consume as a member of this consumer group (shared with Kafka clients): partitions are split among members, offsets committed for the group; -B starts partitions without a committed offset at the beginning')
    .option('--kafka <host:port>', "the node's Kafka listener, for --group (default FRESHET_KAFKA_ENDPOINT, else the node's host on port 9092)");
  return addSmartModuleOptions(command, 'on the stream')
    .addHelpText(
      'after',
      examples(
        'freshet consume events -B -d',
        'freshet consume events -T 10',
        'freshet consume events -B -d -O json | jq .user',
        "freshet consume events -B -d -F '{{time}} {{partition}}/{{offset}} {{key}}={{value}}'",
        'freshet consume events -p 0 -o 42 --end 99',
        'freshet consume events -B --consumer billing     # resumes where "billing" stopped',
        'freshet consume events -B --group billing        # shares the partitions with the other members of "billing"',
        'freshet consume events -B -d --smartmodule-path filter.wasm -e regex=buy',
      ),
    )
    .action(runConsume);
}
