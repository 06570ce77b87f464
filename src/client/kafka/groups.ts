import { kafka } from '../../protocol/index.js';
import { CLIENT_KAFKA_VERSIONS as V, KafkaLink } from './link.js';

const { KafkaApiKey, decodeAssignment, decodeSubscription } = kafka;
type TopicPartitions = kafka.TopicPartitions;

export interface GroupListing {
  group: string;
  state: string;
  protocolType: string;
}

export interface GroupMemberInfo {
  memberId: string;
  clientId: string;
  clientHost: string;
  /** The topics the member subscribed to (consumer protocol). */
  subscription: string[];
  assignment: TopicPartitions[];
}

export interface GroupPartitionLag {
  topic: string;
  partition: number;
  /** -1: nothing committed yet. */
  committed: number;
  highWatermark: number;
  /** Records behind the end of the partition (from the log start when nothing is committed). */
  lag: number;
  /** The member holding the partition now, if any. */
  memberId: string | null;
}

export interface GroupDetails {
  group: string;
  state: string;
  protocol: string;
  members: GroupMemberInfo[];
  partitions: GroupPartitionLag[];
}

/** The consumer groups of a node (with members or with committed offsets). */
export async function listConsumerGroups(kafkaEndpoint: string): Promise<GroupListing[]> {
  const link = await KafkaLink.connect(kafkaEndpoint);
  try {
    const answer = await link.request<{ groups: { groupId: string; protocolType: string; groupState: string }[] }>(KafkaApiKey.ListGroups, V.ListGroups, { statesFilter: [] });
    return answer.groups.map((g) => ({ group: g.groupId, state: g.groupState, protocolType: g.protocolType }));
  } finally {
    link.close();
  }
}

/** Members, their assignments, and per partition the committed offset and the lag. */
export async function describeConsumerGroup(kafkaEndpoint: string, group: string): Promise<GroupDetails> {
  const link = await KafkaLink.connect(kafkaEndpoint);
  try {
    const described = await link.request<{
      groups: { groupState: string; protocolData: string; members: { memberId: string; clientId: string; clientHost: string; memberMetadata: Buffer; memberAssignment: Buffer }[] }[];
    }>(KafkaApiKey.DescribeGroups, V.DescribeGroups, { groups: [group] });
    const info = described.groups[0];
    const members = info.members.map((m) => ({
      memberId: m.memberId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      subscription: safely(() => decodeSubscription(m.memberMetadata), []),
      assignment: safely(() => decodeAssignment(m.memberAssignment), []),
    }));
    const owner = new Map<string, string>();
    for (const member of members) for (const entry of member.assignment) for (const p of entry.partitions) owner.set(`${entry.topic}/${p}`, member.memberId);
    const committed = await link.request<{ topics: { name: string; partitions: { partitionIndex: number; committedOffset: number }[] }[] }>(KafkaApiKey.OffsetFetch, V.OffsetFetch, {
      groupId: group,
      topics: null,
    });
    const wanted = new Map<string, Map<number, number>>();
    for (const topic of committed.topics) wanted.set(topic.name, new Map(topic.partitions.map((p) => [p.partitionIndex, p.committedOffset])));
    for (const key of owner.keys()) {
      const [topic, partition] = [key.slice(0, key.lastIndexOf('/')), Number(key.slice(key.lastIndexOf('/') + 1))];
      if (!wanted.has(topic)) wanted.set(topic, new Map());
      if (!wanted.get(topic)!.has(partition)) wanted.get(topic)!.set(partition, -1);
    }
    const ends = async (timestamp: number) =>
      link.request<{ topics: { name: string; partitions: { partitionIndex: number; offset: number; errorCode: number }[] }[] }>(KafkaApiKey.ListOffsets, V.ListOffsets, {
        replicaId: -1,
        topics: [...wanted].map(([name, partitions]) => ({ name, partitions: [...partitions.keys()].map((partitionIndex) => ({ partitionIndex, timestamp })) })),
      });
    const [latest, earliest] = await Promise.all([ends(-1), ends(-2)]);
    const offsetOf = (answer: Awaited<ReturnType<typeof ends>>, topic: string, partition: number) =>
      answer.topics.find((t) => t.name === topic)?.partitions.find((p) => p.partitionIndex === partition)?.offset ?? 0;
    const partitions: GroupPartitionLag[] = [];
    for (const [topic, offsets] of [...wanted].sort(([a], [b]) => a.localeCompare(b))) {
      for (const [partition, offset] of [...offsets].sort(([a], [b]) => a - b)) {
        const highWatermark = offsetOf(latest, topic, partition);
        const from = offset >= 0 ? offset : offsetOf(earliest, topic, partition);
        partitions.push({ topic, partition, committed: offset, highWatermark, lag: Math.max(0, highWatermark - from), memberId: owner.get(`${topic}/${partition}`) ?? null });
      }
    }
    return { group, state: info.groupState, protocol: info.protocolData, members, partitions };
  } finally {
    link.close();
  }
}

function safely<T>(decode: () => T, fallback: T): T {
  try {
    return decode();
  } catch {
    return fallback;
  }
}
