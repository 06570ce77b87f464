import { Command } from 'commander';
import type { GroupListing, GroupPartitionLag } from '../../client/index.js';
import { withClient } from '../context.js';
import { notFoundError } from '../output/errors.js';
import { examples, listFormatOption, printLine, printList, type ListFormat } from '../output/format.js';

const kafkaOption = "the node's Kafka listener (default FRESHET_KAFKA_ENDPOINT, else the node's host on port 9092)";

export function consumerGroupCommand(): Command {
  const group = new Command('consumer-group')
    .description('consumer groups (`consume --group`, and Kafka clients), served by the Kafka listener')
    .addHelpText('after', examples('freshet consumer-group list', 'freshet consumer-group describe billing'));

  group
    .command('list')
    .description('list consumer groups and their state')
    .addOption(listFormatOption())
    .option('--kafka <host:port>', kafkaOption)
    .addHelpText('after', examples('freshet consumer-group list', 'freshet consumer-group list -O json | jq -r .group'))
    .action(async (flags: { output: ListFormat; kafka?: string }, command: Command) => {
      const groups = await withClient(command, (freshet) => {
        if (flags.kafka !== undefined) freshet.kafkaEndpoint = flags.kafka;
        return freshet.listConsumerGroups();
      });
      await printList<GroupListing>(groups, flags.output, {
        header: ['GROUP', 'STATE', 'PROTOCOL TYPE'],
        row: (g) => [g.group, g.state, g.protocolType],
        empty: 'No consumer groups found',
      });
    });

  group
    .command('describe')
    .description("a group's members, their partitions, and per partition the committed offset and the lag")
    .argument('<group>', 'group id')
    .addOption(listFormatOption())
    .option('--kafka <host:port>', kafkaOption)
    .addHelpText('after', examples('freshet consumer-group describe billing', 'freshet consumer-group describe billing -O json | jq .partitions'))
    .action(async (id: string, flags: { output: ListFormat; kafka?: string }, command: Command) => {
      const details = await withClient(command, (freshet) => {
        if (flags.kafka !== undefined) freshet.kafkaEndpoint = flags.kafka;
        return freshet.describeConsumerGroup(id);
      });
      if (details.state === 'Dead') throw notFoundError(`consumer group "${id}" not found`, 'see the groups with `freshet consumer-group list`');
      if (flags.output === 'json') {
        await printLine(JSON.stringify(details));
        return;
      }
      const members = new Map(details.members.map((m) => [m.memberId, m]));
      await printLine(`group ${details.group}: ${details.state}${details.protocol ? `, assignor ${details.protocol}` : ''}, ${details.members.length} member(s)`);
      await printList<GroupPartitionLag>(details.partitions, 'table', {
        header: ['TOPIC', 'PARTITION', 'COMMITTED', 'END', 'LAG', 'MEMBER', 'CLIENT', 'HOST'],
        row: (p) => {
          const member = p.memberId ? members.get(p.memberId) : undefined;
          return [p.topic, String(p.partition), p.committed < 0 ? '-' : String(p.committed), String(p.highWatermark), String(p.lag), p.memberId ?? '-', member?.clientId ?? '-', member?.clientHost ?? '-'];
        },
        right: [1, 2, 3, 4],
        empty: 'No partitions committed or assigned',
      });
    });
  return group;
}
