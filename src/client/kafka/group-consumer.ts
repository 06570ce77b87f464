import { kafka, splitRecordSetLenient } from '../../protocol/index.js';
import { CLIENT_KAFKA_VERSIONS as V, KafkaLink } from './link.js';

const { KafkaApiKey, decodeAssignment, encodeAssignment, encodeSubscription, KafkaError, decodeKafkaBatch } = kafka;
type KafkaHeader = kafka.KafkaHeader;

export interface GroupConsumerOptions {
  /** The consumer group: members share the topic's partitions, and its committed offsets. */
  group: string;
  kafkaEndpoint: string;
  clientId?: string;
  /** Where a partition without a committed offset starts. Default 'beginning'. */
  startAt?: 'beginning' | 'end';
  /** Default 10 000 ms. */
  sessionTimeoutMs?: number;
  /** Default 1000 ms. */
  heartbeatIntervalMs?: number;
  /** Longest wait of one fetch for new records. Default 500 ms. */
  maxWaitMs?: number;
  /** End the iteration at the first fetch that finds nothing new (after at least one assignment). Default false. */
  stopWhenIdle?: boolean;
}

export interface GroupRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer;
  headers: KafkaHeader[];
}

const PROTOCOL = 'range';

/** The range assignor: partitions split in contiguous runs over the members sorted by id. */
export function rangeAssign(memberIds: readonly string[], partitionCount: number): Map<string, number[]> {
  const members = [...memberIds].sort();
  const out = new Map<string, number[]>(members.map((id) => [id, []]));
  const base = Math.floor(partitionCount / members.length);
  const extra = partitionCount % members.length;
  let next = 0;
  members.forEach((id, i) => {
    const count = base + (i < extra ? 1 : 0);
    for (let k = 0; k < count; k++) out.get(id)!.push(next++);
  });
  return out;
}

class GroupError extends Error {
  constructor(
    readonly errorCode: number,
    what: string,
  ) {
    super(`${what} failed with Kafka error ${errorCode}`);
  }
}

/**
 * A member of a consumer group on one topic, through the node's Kafka
 * listener (the classic group protocol, range assignment by the leader).
 * Iterate it with `for await`; the offsets of records handed out are
 * committed when the next fetch starts, on rebalance and on close.
 */
export class GroupConsumer implements AsyncIterable<GroupRecord> {
  private memberId = '';
  private generationId = -1;
  private partitions: number[] = [];
  private readonly positions = new Map<number, number>();
  private rejoin = true;
  private closed = false;
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly options: Required<GroupConsumerOptions>;

  private constructor(
    readonly topic: string,
    private readonly group: KafkaLink,
    private readonly data: KafkaLink,
    private readonly partitionCount: number,
    options: GroupConsumerOptions,
  ) {
    this.options = { clientId: 'freshet', startAt: 'beginning', sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1000, maxWaitMs: 500, stopWhenIdle: false, ...options };
  }

  static async create(topic: string, options: GroupConsumerOptions): Promise<GroupConsumer> {
    const group = await KafkaLink.connect(options.kafkaEndpoint, options.clientId);
    const data = await KafkaLink.connect(options.kafkaEndpoint, options.clientId).catch((err) => {
      group.close();
      throw err;
    });
    const metadata = await group.request<{ topics: { errorCode: number; partitions: unknown[] }[] }>(KafkaApiKey.Metadata, V.Metadata, {
      topics: [{ name: topic }],
      allowAutoTopicCreation: false,
    });
    if (metadata.topics[0]?.errorCode !== KafkaError.None) {
      group.close();
      data.close();
      throw new Error(`topic "${topic}" not found`);
    }
    return new GroupConsumer(topic, group, data, metadata.topics[0].partitions.length, options);
  }

  /** The partitions this member holds in the current generation. */
  get assignment(): readonly number[] {
    return this.partitions;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<GroupRecord> {
    while (!this.closed) {
      let records: GroupRecord[];
      try {
        if (this.rejoin) await this.join();
        if (this.closed) break;
        await this.commit();
        if (this.partitions.length === 0) {
          await new Promise((resolve) => setTimeout(resolve, this.options.heartbeatIntervalMs));
          continue;
        }
        records = await this.fetch();
        if (records.length === 0 && this.options.stopWhenIdle) break;
      } catch (err) {
        // close() ends the connections under a fetch in flight: that is the end of the iteration, not an error.
        if (this.closed) return;
        throw err;
      }
      for (const record of records) {
        if (this.rejoin || this.closed) break;
        this.positions.set(record.partition, record.offset + 1);
        yield record;
      }
    }
  }

  /** Commits, leaves the group (its partitions go to the others at once) and closes the connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    try {
      await this.commit();
      if (this.memberId) await this.group.request(KafkaApiKey.LeaveGroup, V.LeaveGroup, { groupId: this.options.group, members: [{ memberId: this.memberId, groupInstanceId: null }] });
    } finally {
      this.group.close();
      this.data.close();
    }
  }

  private async join(): Promise<void> {
    clearInterval(this.heartbeat);
    for (;;) {
      const joined = await this.group.request<{ errorCode: number; generationId: number; leader: string; memberId: string; members: { memberId: string }[] }>(
        KafkaApiKey.JoinGroup,
        V.JoinGroup,
        {
          groupId: this.options.group,
          sessionTimeoutMs: this.options.sessionTimeoutMs,
          rebalanceTimeoutMs: this.options.sessionTimeoutMs,
          memberId: this.memberId,
          groupInstanceId: null,
          protocolType: 'consumer',
          protocols: [{ name: PROTOCOL, metadata: encodeSubscription([this.topic]) }],
        },
      );
      if (joined.errorCode === KafkaError.MemberIdRequired) {
        this.memberId = joined.memberId;
        continue;
      }
      if (joined.errorCode === KafkaError.UnknownMemberId || joined.errorCode === KafkaError.IllegalGeneration) {
        this.memberId = '';
        continue;
      }
      if (joined.errorCode === KafkaError.RebalanceInProgress) continue;
      if (joined.errorCode !== KafkaError.None) throw new GroupError(joined.errorCode, 'JoinGroup');
      this.memberId = joined.memberId;
      this.generationId = joined.generationId;
      const assignments =
        joined.leader === this.memberId
          ? [...rangeAssign(joined.members.map((m) => m.memberId), this.partitionCount)].map(([memberId, partitions]) => ({
              memberId,
              assignment: encodeAssignment([{ topic: this.topic, partitions }]),
            }))
          : [];
      const synced = await this.group.request<{ errorCode: number; assignment: Buffer }>(KafkaApiKey.SyncGroup, V.SyncGroup, {
        groupId: this.options.group,
        generationId: this.generationId,
        memberId: this.memberId,
        groupInstanceId: null,
        assignments,
      });
      if (synced.errorCode === KafkaError.RebalanceInProgress) continue;
      if (synced.errorCode !== KafkaError.None) throw new GroupError(synced.errorCode, 'SyncGroup');
      this.partitions = decodeAssignment(synced.assignment).flatMap((entry) => (entry.topic === this.topic ? entry.partitions : []));
      await this.loadPositions();
      this.rejoin = false;
      this.heartbeat = setInterval(() => void this.beat(), this.options.heartbeatIntervalMs);
      this.heartbeat.unref();
      return;
    }
  }

  private async beat(): Promise<void> {
    if (this.closed || this.rejoin) return;
    try {
      const { errorCode } = await this.group.request<{ errorCode: number }>(KafkaApiKey.Heartbeat, V.Heartbeat, {
        groupId: this.options.group,
        generationId: this.generationId,
        memberId: this.memberId,
        groupInstanceId: null,
      });
      if (errorCode !== KafkaError.None) this.rejoin = true;
    } catch {
      this.rejoin = true;
    }
  }

  private async loadPositions(): Promise<void> {
    this.positions.clear();
    const fetched = await this.group.request<{ topics: { partitions: { partitionIndex: number; committedOffset: number }[] }[] }>(KafkaApiKey.OffsetFetch, V.OffsetFetch, {
      groupId: this.options.group,
      topics: [{ name: this.topic, partitionIndexes: this.partitions }],
    });
    const missing: number[] = [];
    for (const entry of fetched.topics[0]?.partitions ?? []) {
      if (entry.committedOffset >= 0) this.positions.set(entry.partitionIndex, entry.committedOffset);
      else missing.push(entry.partitionIndex);
    }
    if (missing.length === 0) return;
    const listed = await this.group.request<{ topics: { partitions: { partitionIndex: number; offset: number }[] }[] }>(KafkaApiKey.ListOffsets, V.ListOffsets, {
      replicaId: -1,
      topics: [{ name: this.topic, partitions: missing.map((partitionIndex) => ({ partitionIndex, timestamp: this.options.startAt === 'end' ? -1 : -2 })) }],
    });
    for (const entry of listed.topics[0].partitions) this.positions.set(entry.partitionIndex, entry.offset);
  }

  private committed = new Map<number, number>();

  private async commit(): Promise<void> {
    const changed = [...this.positions].filter(([partition, offset]) => this.committed.get(partition) !== offset && this.partitions.includes(partition));
    if (changed.length === 0 || this.generationId < 0) return;
    const answer = await this.group.request<{ topics: { partitions: { partitionIndex: number; errorCode: number }[] }[] }>(KafkaApiKey.OffsetCommit, V.OffsetCommit, {
      groupId: this.options.group,
      generationId: this.generationId,
      memberId: this.memberId,
      groupInstanceId: null,
      topics: [{ name: this.topic, partitions: changed.map(([partitionIndex, committedOffset]) => ({ partitionIndex, committedOffset, committedMetadata: null })) }],
    });
    for (const entry of answer.topics[0].partitions) {
      if (entry.errorCode === KafkaError.None) this.committed.set(entry.partitionIndex, this.positions.get(entry.partitionIndex)!);
      else this.rejoin = true;
    }
  }

  private async fetch(): Promise<GroupRecord[]> {
    const answer = await this.data.request<{ responses: { partitions: { partitionIndex: number; errorCode: number; records: Buffer | null }[] }[] }>(KafkaApiKey.Fetch, V.Fetch, {
      replicaId: -1,
      maxWaitMs: this.options.maxWaitMs,
      minBytes: 1,
      maxBytes: 8 * 1024 * 1024,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topic: this.topic, partitions: this.partitions.map((partition) => ({ partition, fetchOffset: this.positions.get(partition) ?? 0, partitionMaxBytes: 1024 * 1024 })) }],
      forgottenTopicsData: [],
      rackId: '',
    });
    const records: GroupRecord[] = [];
    for (const partition of answer.responses[0]?.partitions ?? []) {
      if (partition.errorCode !== KafkaError.None || !partition.records) continue;
      const from = this.positions.get(partition.partitionIndex) ?? 0;
      for (const batch of splitRecordSetLenient(partition.records)) {
        for (const record of await decodeKafkaBatch(batch)) {
          if (record.offset < from) continue;
          records.push({ topic: this.topic, partition: partition.partitionIndex, offset: record.offset, timestamp: record.timestamp, key: record.key, value: record.value ?? Buffer.alloc(0), headers: record.headers });
        }
      }
    }
    return records;
  }
}
