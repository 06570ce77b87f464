// Cluster metadata as the client reads it from the SC (List requests):
// topics, partitions with their leaders and offsets, SPUs with their public
// addresses. Answers are fresh on every call; callers that route many
// requests (producer, consumer) keep what they looked up and ask again after
// a routing error.

import { ErrorCode } from '../protocol/index.js';
import type { ListResponse } from '../protocol/index.js';
import { topicCompressionName, type TopicCompression } from '../protocol/index.js';

export type { TopicCompression };
import type { ObjectMetadata } from '../protocol/index.js';
import { topicPartitionCount } from '../protocol/index.js';
import { ListApi } from './apis.js';
import type { Address, Link } from './connection.js';
import { FreshetError, TopicNotFoundError } from './errors.js';

export type TopicStatusLabel = 'initializing' | 'pending' | 'insufficient-resources' | 'invalid-config' | 'provisioned' | 'deleting';
export type PartitionStatusLabel = 'offline' | 'online' | 'leader-offline' | 'election-leader-found';

export interface TopicInfo {
  name: string;
  /** computed (partition count + replication), assigned (explicit replica maps) or mirror. */
  type: 'computed' | 'assigned' | 'mirror';
  partitions: number;
  replicationFactor: number;
  ignoreRackAssignment: boolean;
  /** Segment retention; undefined means the server default (7 days). */
  retentionSeconds?: number;
  segmentSize?: number;
  maxPartitionSize?: number;
  compression: TopicCompression;
  deduplication?: { count: number; ageMs?: number; filter: string };
  system: boolean;
  status: TopicStatusLabel;
  reason: string;
  /** partition → SPU ids holding it (leader first). */
  replicaAssignment: { [partition: number]: number[] };
}

export interface PartitionInfo {
  topic: string;
  partition: number;
  leader: number;
  replicas: number[];
  status: PartitionStatusLabel;
  /** Bytes stored; -1 when the SPU does not report it. */
  sizeBytes: number;
  /** First offset still stored (retention removes older ones). */
  baseOffset: number;
  highWatermark: number;
  logEndOffset: number;
  /** In-sync replica count. */
  lsr: number;
}

export interface SpuInfo {
  id: number;
  name: string;
  host: string;
  port: number;
  type: 'managed' | 'custom';
  status: 'online' | 'offline' | 'init';
  rack?: string;
}

const TOPIC_STATUS: TopicStatusLabel[] = ['initializing', 'pending', 'insufficient-resources', 'invalid-config', 'provisioned', 'deleting'];
const PARTITION_STATUS: PartitionStatusLabel[] = ['offline', 'online', 'leader-offline', 'election-leader-found'];

export function topicInfo(item: ObjectMetadata<'Topic'>): TopicInfo {
  const { spec, status } = item;
  const replicas = spec.replicas;
  const info: TopicInfo = {
    name: item.name,
    type: replicas.type === 'Computed' ? 'computed' : replicas.type === 'Assigned' ? 'assigned' : 'mirror',
    partitions: topicPartitionCount(spec),
    replicationFactor:
      replicas.type === 'Computed' ? replicas.replicationFactor : replicas.type === 'Assigned' ? (replicas.maps[0]?.replicas.length ?? 0) : 1,
    ignoreRackAssignment: replicas.type === 'Computed' ? replicas.ignoreRackAssignment : false,
    compression: topicCompressionName(spec.compressionType) ?? 'any',
    system: spec.system,
    status: TOPIC_STATUS[status.resolution] ?? 'pending',
    reason: status.reason,
    replicaAssignment: Object.fromEntries([...status.replicaMap].map(([partition, spus]) => [partition, [...spus]])),
  };
  if (spec.cleanupPolicy) info.retentionSeconds = spec.cleanupPolicy.timeInSeconds;
  if (spec.storage?.segmentSize !== undefined) info.segmentSize = spec.storage.segmentSize;
  if (spec.storage?.maxPartitionSize !== undefined) info.maxPartitionSize = spec.storage.maxPartitionSize;
  if (spec.deduplication) {
    const age = spec.deduplication.bounds.age;
    info.deduplication = {
      count: spec.deduplication.bounds.count,
      filter: spec.deduplication.filter.transform.uses,
      ...(age ? { ageMs: age.seconds * 1000 + Math.floor(age.nanos / 1e6) } : {}),
    };
  }
  return info;
}

/** "<topic>-<n>": the topic is everything before the last dash. */
export function splitPartitionName(name: string): { topic: string; partition: number } {
  const dash = name.lastIndexOf('-');
  return { topic: name.slice(0, dash), partition: Number(name.slice(dash + 1)) };
}

export function partitionInfo(item: ObjectMetadata<'Partition'>): PartitionInfo {
  const { topic, partition } = splitPartitionName(item.name);
  return {
    topic,
    partition,
    leader: item.spec.leader,
    replicas: [...item.spec.replicas],
    status: PARTITION_STATUS[item.status.resolution] ?? 'offline',
    sizeBytes: item.status.size,
    baseOffset: item.status.baseOffset,
    highWatermark: item.status.leader.hw,
    logEndOffset: item.status.leader.leo,
    lsr: item.status.lsr,
  };
}

export function spuInfo(item: ObjectMetadata<'SPU'>): SpuInfo {
  const endpoint = item.spec.publicEndpoint;
  const ingress = endpoint.ingress[0];
  const info: SpuInfo = {
    id: item.spec.id,
    name: item.name,
    host: ingress?.hostname ?? ingress?.ip ?? item.spec.privateEndpoint.host,
    port: endpoint.port,
    type: item.spec.spuType === 1 ? 'custom' : 'managed',
    status: (['online', 'offline', 'init'] as const)[item.status.resolution] ?? 'offline',
  };
  if (item.spec.rack !== undefined) info.rack = item.spec.rack;
  return info;
}

async function list<K extends 'Topic' | 'Partition' | 'SPU'>(sc: Link, kind: K, names: string[] = []): Promise<ObjectMetadata<K>[]> {
  const response: ListResponse = await sc.send(ListApi, { kind, nameFilters: names, summary: false, system: false }, { idempotent: true });
  if (response.kind !== kind) throw new Error(`List ${kind} was answered with ${response.kind === 'Unsupported' ? response.label : response.kind}`);
  return (response as { items: ObjectMetadata<K>[] }).items;
}

/** Looks topics, partitions and SPUs up on the SC. */
export class MetadataClient {
  constructor(private readonly sc: Link) {}

  async topics(): Promise<TopicInfo[]> {
    return (await list(this.sc, 'Topic')).map(topicInfo).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The topic, or TopicNotFoundError naming the topics that do exist. */
  async topic(name: string): Promise<TopicInfo> {
    const all = await this.topics();
    const found = all.find((topic) => topic.name === name);
    if (!found) throw new TopicNotFoundError(name, all.map((topic) => topic.name));
    return found;
  }

  async partitions(topic?: string): Promise<PartitionInfo[]> {
    const all = (await list(this.sc, 'Partition')).map(partitionInfo);
    return all
      .filter((p) => topic === undefined || p.topic === topic)
      .sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic.localeCompare(b.topic)));
  }

  async spus(): Promise<SpuInfo[]> {
    return (await list(this.sc, 'SPU')).map(spuInfo).sort((a, b) => a.id - b.id);
  }

  /** Leader address of every partition of a topic (index = partition). */
  async leaders(topic: string): Promise<{ topic: TopicInfo; leaders: Address[] }> {
    const info = await this.topic(topic);
    const [partitions, spus] = await Promise.all([this.partitions(topic), this.spus()]);
    const byId = new Map(spus.map((spu) => [spu.id, spu]));
    const leaders: Address[] = [];
    for (let partition = 0; partition < info.partitions; partition++) {
      const meta = partitions.find((p) => p.partition === partition);
      const spu = meta ? byId.get(meta.leader) : undefined;
      if (!meta) throw new FreshetError('PARTITION_NOT_FOUND', `partition ${topic}-${partition} is not provisioned yet`);
      if (!spu) throw new FreshetError('PROTOCOL', `partition ${topic}-${partition} is led by SPU ${meta.leader}, which the SC does not list`);
      leaders.push({ host: spu.host, port: spu.port });
    }
    return { topic: info, leaders };
  }
}

export const NOT_LEADER_CODES: ReadonlySet<number> = new Set([ErrorCode.NotLeaderForPartition, ErrorCode.PartitionNotLeader]);
