import { Command, InvalidArgumentError, Option } from 'commander';
import type { CreateTopicOptions, TopicCompression, TopicInfo } from '../../client/index.js';
import { withClient } from '../context.js';
import { CliError, exitCodeFor } from '../output/errors.js';
import { examples, listFormatOption, printLine, printList, printObject, type ListFormat } from '../output/format.js';
import { formatBytes, formatDuration, parseByteSize, parseCount, parseDuration } from '../output/units.js';

const TOPIC_COMPRESSIONS: TopicCompression[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd', 'any'];
const DEFAULT_RETENTION_SECONDS = 7 * 86_400;

function parseTopicCompression(text: string): TopicCompression {
  const value = text.toLowerCase() as TopicCompression;
  if (!TOPIC_COMPRESSIONS.includes(value)) throw new InvalidArgumentError(`expected one of ${TOPIC_COMPRESSIONS.join(', ')}`);
  return value;
}

function parsePositive(text: string): number {
  const value = parseCount(text);
  if (value < 1) throw new InvalidArgumentError('expected an integer of at least 1');
  return value;
}

interface CreateFlags {
  partitions: number;
  replication: number;
  ignoreRackAssignment?: boolean;
  retentionTime?: number;
  segmentSize?: number;
  maxPartitionSize?: number;
  compressionType?: TopicCompression;
  dedup?: boolean;
  dedupCount: number;
  dedupAge: number;
  dryRun?: boolean;
}

function createOptions(flags: CreateFlags): CreateTopicOptions {
  const options: CreateTopicOptions = { partitions: flags.partitions, replicationFactor: flags.replication };
  if (flags.ignoreRackAssignment) options.ignoreRackAssignment = true;
  if (flags.retentionTime !== undefined) options.retentionSeconds = Math.floor(flags.retentionTime / 1000);
  if (flags.segmentSize !== undefined) options.segmentSize = flags.segmentSize;
  if (flags.maxPartitionSize !== undefined) options.maxPartitionSize = flags.maxPartitionSize;
  if (flags.compressionType !== undefined) options.compression = flags.compressionType;
  if (flags.dedup) options.deduplication = { count: flags.dedupCount, ageMs: flags.dedupAge };
  if (flags.dryRun) options.dryRun = true;
  return options;
}

function topicRow(topic: TopicInfo): string[] {
  return [
    topic.name,
    topic.type,
    String(topic.partitions),
    String(topic.replicationFactor),
    formatDuration(topic.retentionSeconds ?? DEFAULT_RETENTION_SECONDS),
    topic.compression,
    topic.deduplication?.filter ?? 'none',
    `resolution::${topic.status}`,
    topic.reason,
  ];
}

function topicPairs(topic: TopicInfo): [string, string][] {
  const pairs: [string, string][] = [
    ['Name', topic.name],
    ['Type', topic.type],
    ['Partition Count', String(topic.partitions)],
    ['Replication Factor', String(topic.replicationFactor)],
    ['Ignore Rack Assignment', String(topic.ignoreRackAssignment)],
    ['Retention Time', formatDuration(topic.retentionSeconds ?? DEFAULT_RETENTION_SECONDS)],
    ['Segment Size', topic.segmentSize === undefined ? 'default (1.0 GiB)' : formatBytes(topic.segmentSize)],
    ['Max Partition Size', topic.maxPartitionSize === undefined ? 'default (100.0 GiB)' : formatBytes(topic.maxPartitionSize)],
    ['Compression', topic.compression],
  ];
  if (topic.deduplication) {
    pairs.push(['Deduplication Filter', topic.deduplication.filter], ['Deduplication Count Bound', String(topic.deduplication.count)]);
    if (topic.deduplication.ageMs !== undefined) pairs.push(['Deduplication Age Bound', formatDuration(topic.deduplication.ageMs / 1000)]);
  }
  pairs.push(['Status', topic.status], ['Reason', topic.reason]);
  return pairs;
}

export function topicCommand(): Command {
  const topic = new Command('topic')
    .description('create, list, describe and delete topics')
    .addHelpText('after', examples('freshet topic create events -p 3', 'freshet topic list', 'freshet topic describe events', 'freshet topic delete events'));

  topic
    .command('create')
    .description('create a topic')
    .argument('<name>', 'topic name: a-z, 0-9 and -, at most 63 characters')
    .addOption(new Option('-p, --partitions <partitions>', 'number of partitions').argParser(parsePositive).default(1))
    .addOption(new Option('-r, --replication <integer>', 'replication factor (a single node holds 1 replica)').argParser(parsePositive).default(1))
    .option('-i, --ignore-rack-assignment', 'ignore racks when assigning replicas')
    .addOption(new Option('--retention-time <time>', 'how long segments are kept: 1h, 2d 10s, 7days (default 7 days)').argParser(parseDuration))
    .addOption(new Option('--segment-size <bytes>', 'segment size: 2048, 64 KiB, 10 MiB (default 1 GiB)').argParser(parseByteSize))
    .addOption(new Option('--max-partition-size <bytes>', 'largest size of a partition (default 100 GiB)').argParser(parseByteSize))
    .addOption(new Option('--compression-type <compression>', `compression the topic accepts: ${TOPIC_COMPRESSIONS.join(', ')}`).argParser(parseTopicCompression))
    .option('--dedup', 'drop produced records whose key was seen recently (filter fluvio/dedup-bloom-filter@0.1.0)')
    .addOption(new Option('--dedup-count <integer>', 'deduplication window: records (needs --dedup)').argParser(parsePositive).default(5))
    .addOption(new Option('--dedup-age <time>', 'deduplication window: age, e.g. 5s, 1h (needs --dedup)').argParser(parseDuration).default(5000, '5s'))
    .option('-d, --dry-run', 'validate only; create nothing')
    .addHelpText(
      'after',
      examples(
        'freshet topic create events',
        'freshet topic create clicks -p 6 --retention-time 2d --segment-size "64 MiB" --compression-type zstd',
        'freshet topic create orders --dedup --dedup-count 1000 --dedup-age 1h',
      ),
    )
    .action(async (name: string, flags: CreateFlags, command: Command) => {
      const dedupBound = ['dedupCount', 'dedupAge'].find((key) => command.getOptionValueSource(key) === 'cli');
      if (dedupBound && !flags.dedup) throw new CliError(`--${dedupBound === 'dedupCount' ? 'dedup-count' : 'dedup-age'} needs --dedup`);
      await withClient(command, (freshet) => freshet.admin.createTopic(name, createOptions(flags)));
      await printLine(`topic "${name}" created`);
    });

  topic
    .command('list')
    .description('list topics')
    .addOption(listFormatOption())
    .addHelpText('after', examples('freshet topic list', 'freshet topic list -O json | jq -r .name'))
    .action(async (flags: { output: ListFormat }, command: Command) => {
      const topics = await withClient(command, (freshet) => freshet.admin.listTopics());
      await printList(topics, flags.output, {
        header: ['NAME', 'TYPE', 'PARTITIONS', 'REPLICAS', 'RETENTION TIME', 'COMPRESSION', 'DEDUPLICATION', 'STATUS', 'REASON'],
        row: topicRow,
        right: [2, 3],
        empty: 'No topics found',
      });
    });

  topic
    .command('describe')
    .description('show one topic')
    .argument('<name>', 'topic name')
    .addOption(listFormatOption())
    .addHelpText('after', examples('freshet topic describe events', 'freshet topic describe events -O json'))
    .action(async (name: string, flags: { output: ListFormat }, command: Command) => {
      const info = await withClient(command, (freshet) => freshet.admin.describeTopic(name));
      await printObject(topicPairs(info), info, flags.output);
    });

  topic
    .command('delete')
    .description('delete topics and their records')
    .argument('<name...>', 'one or more topic names')
    .option('-c, --continue-on-error', 'keep deleting the other topics when one fails')
    .addHelpText('after', examples('freshet topic delete events', 'freshet topic delete a b c --continue-on-error'))
    .action(async (names: string[], flags: { continueOnError?: boolean }, command: Command) => {
      const failures = await withClient(command, async (freshet) => {
        const failed: unknown[] = [];
        for (const name of names) {
          try {
            await freshet.admin.deleteTopic(name);
            await printLine(`topic "${name}" deleted`);
          } catch (err) {
            if (!flags.continueOnError) throw err;
            process.stderr.write(`topic "${name}" delete failed with: ${(err as Error).message}\n`);
            failed.push(err);
          }
        }
        return failed;
      });
      if (failures.length > 0) throw new CliError('Failed deleting topic(s). Check previous errors.', exitCodeFor(failures[0]));
    });

  return topic;
}
