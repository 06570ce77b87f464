import { Command, Option } from 'commander';
import type { StoredConsumerOffset } from '../../client/index.js';
import { withClient } from '../context.js';
import { notFoundError, usageError } from '../output/errors.js';
import { examples, listFormatOption, printLine, printList, type ListFormat } from '../output/format.js';
import { formatDuration, parseCount } from '../output/units.js';

function offsetRow(c: StoredConsumerOffset): string[] {
  return [c.consumerId, c.topic, String(c.partition), String(c.offset), formatDuration(Math.max(0, (Date.now() - c.modifiedTime) / 1000))];
}

export function consumerCommand(): Command {
  const consumer = new Command('consumer')
    .description('stored offsets of named consumers (`consume --consumer ID`)')
    .addHelpText('after', examples('freshet consumer list', 'freshet consumer delete billing', 'freshet consumer delete billing -t events -p 0'));

  consumer
    .command('list')
    .description('list named consumers and where they are')
    .addOption(listFormatOption())
    .addHelpText('after', examples('freshet consumer list', 'freshet consumer list -O json'))
    .action(async (flags: { output: ListFormat }, command: Command) => {
      const offsets = await withClient(command, (freshet) => freshet.listConsumerOffsets());
      await printList(offsets, flags.output, {
        header: ['CONSUMER', 'TOPIC', 'PARTITION', 'OFFSET', 'LAST SEEN'],
        row: offsetRow,
        right: [2, 3],
        empty: 'No consumers found',
      });
    });

  consumer
    .command('delete')
    .description("forget a consumer's stored offsets (all, or on one topic, or one partition)")
    .argument('<consumer>', 'consumer id')
    .option('-t, --topic <topic>', 'only on this topic')
    .addOption(new Option('-p, --partition <partition>', 'only on this partition (needs --topic)').argParser(parseCount))
    .addHelpText('after', examples('freshet consumer delete billing', 'freshet consumer delete billing -t events -p 0'))
    .action(async (id: string, flags: { topic?: string; partition?: number }, command: Command) => {
      if (flags.partition !== undefined && flags.topic === undefined) throw usageError('--partition needs --topic');
      await withClient(command, async (freshet) => {
        const found = await freshet.listConsumerOffsets({ consumerId: id, topic: flags.topic, partition: flags.partition });
        if (found.length === 0) throw notFoundError(`no consumers found: "${id}" has no stored offset${flags.topic ? ` on topic "${flags.topic}"` : ''}`, 'see them with `freshet consumer list`');
        for (const c of found) {
          await freshet.deleteConsumerOffset(c.consumerId, c.topic, c.partition);
          await printLine(`consumer "${c.consumerId}" on topic "${c.topic}" and partition "${c.partition}" deleted`);
        }
      });
    });
  return consumer;
}
