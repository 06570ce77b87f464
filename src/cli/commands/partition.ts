import { Command } from 'commander';
import type { PartitionInfo, PartitionStatusLabel } from '../../client/index.js';
import { withClient } from '../context.js';
import { examples, listFormatOption, printList, type ListFormat } from '../output/format.js';
import { formatBytes } from '../output/units.js';

/** Fluvio shows the resolution as its Rust name. */
const RESOLUTION: { [label in PartitionStatusLabel]: string } = {
  online: 'Online',
  offline: 'Offline',
  'leader-offline': 'LeaderOffline',
  'election-leader-found': 'ElectionLeaderFound',
};

function partitionRow(p: PartitionInfo): string[] {
  const followers = p.replicas.filter((id) => id !== p.leader);
  return [
    p.topic,
    String(p.partition),
    String(p.leader),
    '',
    `[${followers.join(', ')}]`,
    RESOLUTION[p.status],
    p.sizeBytes < 0 ? 'NA' : formatBytes(p.sizeBytes),
    String(p.baseOffset),
    String(p.highWatermark),
    String(p.logEndOffset),
    String(p.lsr),
    '[]',
  ];
}

export function partitionCommand(): Command {
  const partition = new Command('partition')
    .description('show partitions')
    .addHelpText('after', examples('freshet partition list', 'freshet partition list events -O json'));
  partition
    .command('list')
    .description('list partitions with their leader, offsets and size')
    .argument('[topic]', 'only the partitions of this topic')
    .addOption(listFormatOption())
    .addHelpText('after', examples('freshet partition list', 'freshet partition list events', 'freshet partition list -O json | jq .highWatermark'))
    .action(async (topic: string | undefined, flags: { output: ListFormat }, command: Command) => {
      const partitions = await withClient(command, async (freshet) => {
        if (topic !== undefined) await freshet.admin.describeTopic(topic);
        return freshet.admin.listPartitions(topic);
      });
      await printList(partitions, flags.output, {
        header: ['TOPIC', 'PARTITION', 'LEADER', 'MIRROR', 'REPLICAS', 'RESOLUTION', 'SIZE', 'BASE', 'HW', 'LEO', 'LRS', 'FOLLOWER OFFSETS'],
        row: partitionRow,
        right: [1, 2, 6, 7, 8, 9, 10],
        empty: 'No partitions found',
      });
    });
  return partition;
}
