import path from 'node:path';
import { EventEmitter } from 'node:events';
import { readJsonIfExists, SerialQueue, writeJsonAtomic } from '../../common/index.js';

import type { TopicCompression } from '../../protocol/index.js';

export type { TopicCompression };

/** A topic as the node stores it; wire layouts are derived from it, not stored. */
export interface TopicDefinition {
  name: string;
  partitions: number;
  replicationFactor: number;
  ignoreRackAssignment: boolean;
  /** Present when the topic was created with explicit partition maps. */
  assignedReplicas?: { id: number; replicas: number[] }[];
  retentionSeconds?: number;
  segmentSize?: number;
  maxPartitionSize?: number;
  compression: TopicCompression;
  /** Records whose key was seen within these bounds are dropped on produce, by this filter SmartModule. */
  deduplication?: TopicDeduplication;
  createdAt: string;
}

export interface TopicDeduplication {
  count: number;
  ageMs?: number;
  /** The filter's name (`uses`), resolved as every SmartModule name: registered first, then built-in. */
  filter: string;
  /** Its `with` params. */
  params?: Record<string, string>;
}

/** A refusal the client should see as a Fluvio error code with a message. */
export class TopicRequestError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export const TOPIC_ERROR = {
  notFound: 2001,
  alreadyExists: 2002,
  invalidConfiguration: 2004,
  invalidName: 2006,
} as const;

export const TOPIC_LIMITS = {
  maxNameLength: 63,
  maxPartitions: 1024,
  maxTopics: 10_000,
  /** The largest deduplication window (keys held in memory per partition). */
  maxDedupCount: 1_000_000,
} as const;

/** The one place partitions are made real: the SPU side of this node. */
export interface PartitionProvisioner {
  createPartitions(topic: TopicDefinition): Promise<void>;
  deletePartitions(topic: TopicDefinition): Promise<void>;
}

export type TopicEvent = { kind: 'created' | 'deleted'; topic: TopicDefinition };

/** Where the topic table lives: `<dataDir>/metadata/topics.json` by default, a KV bucket on the JetStream backend. */
export interface TopicPersistence {
  load(): Promise<TopicDefinition[]>;
  /** Stores one change; `topics` is the whole table after it. */
  save(change: TopicEvent, topics: TopicDefinition[]): Promise<void>;
  /** Changes other nodes sharing this persistence make, from now on. */
  follow?(apply: (change: RemoteTopicChange) => Promise<void>): void;
}

export type RemoteTopicChange = { kind: 'created'; topic: TopicDefinition } | { kind: 'deleted'; name: string };

export interface TopicRegistryOptions {
  persistence?: TopicPersistence;
  /** Replication factors the partitions can have (default: 1, one node on local disk). */
  replicationFactors?: readonly number[];
}

function filePersistence(dataDir: string): TopicPersistence {
  const file = path.join(dataDir, 'metadata', 'topics.json');
  return {
    load: async () => (await readJsonIfExists<{ topics: TopicDefinition[] }>(file))?.topics ?? [],
    save: (_change, topics) => writeJsonAtomic(file, { topics }),
  };
}

/** Fluvio's rule for resource names: DNS-label-like, lowercase. */
export function validateTopicName(name: string): void {
  if (name.length === 0) throw new TopicRequestError(TOPIC_ERROR.invalidName, 'topic name is empty');
  if (name.length > TOPIC_LIMITS.maxNameLength) {
    throw new TopicRequestError(
      TOPIC_ERROR.invalidName,
      `topic name "${name}" is ${name.length} characters; the limit is ${TOPIC_LIMITS.maxNameLength}`,
    );
  }
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(name)) {
    throw new TopicRequestError(
      TOPIC_ERROR.invalidName,
      `invalid topic name "${name}": use lowercase letters, digits and '-', starting and ending with a letter or digit`,
    );
  }
}

function validateDefinition(topic: TopicDefinition, replicationFactors: readonly number[]): void {
  validateTopicName(topic.name);
  const invalid = (message: string) => new TopicRequestError(TOPIC_ERROR.invalidConfiguration, message);
  if (!Number.isInteger(topic.partitions) || topic.partitions < 1) throw invalid('partitions must be at least 1');
  if (topic.partitions > TOPIC_LIMITS.maxPartitions) {
    throw invalid(`partitions must be at most ${TOPIC_LIMITS.maxPartitions}`);
  }
  if (!replicationFactors.includes(topic.replicationFactor)) {
    throw invalid(
      replicationFactors.length === 1 && replicationFactors[0] === 1
        ? `replication factor ${topic.replicationFactor} needs that many SPUs; this node has 1 (use 1)`
        : `replication factor ${topic.replicationFactor} is not supported (use ${replicationFactors.join(' or ')})`,
    );
  }
  if (topic.segmentSize !== undefined && topic.segmentSize < 1024) throw invalid('segment size must be at least 1024 bytes');
  if (topic.maxPartitionSize !== undefined && topic.segmentSize !== undefined && topic.maxPartitionSize < topic.segmentSize) {
    throw invalid('max partition size must be at least the segment size');
  }
  if (topic.retentionSeconds !== undefined && topic.retentionSeconds < 1) throw invalid('retention time must be at least 1 second');
  const dedup = topic.deduplication;
  if (dedup !== undefined) {
    if (!Number.isSafeInteger(dedup.count) || dedup.count < 1 || dedup.count > TOPIC_LIMITS.maxDedupCount) {
      throw invalid(`deduplication count must be between 1 and ${TOPIC_LIMITS.maxDedupCount}`);
    }
    if (dedup.ageMs !== undefined && (!Number.isSafeInteger(dedup.ageMs) || dedup.ageMs < 0)) throw invalid('deduplication age must not be negative');
    if (dedup.filter.trim() === '') throw invalid('deduplication filter name is empty');
  }
}

/**
 * The SC's topic table, persisted in `<dataDir>/metadata/topics.json` (or
 * where the options' persistence puts it).
 * Changes are serialized so that a create racing a delete of the same name
 * cannot interleave their disk writes.
 */
export class TopicRegistry extends EventEmitter<{ change: [TopicEvent] }> {
  private readonly topics = new Map<string, TopicDefinition>();
  private readonly queue = new SerialQueue();
  private readonly persistence: TopicPersistence;
  private readonly replicationFactors: readonly number[];

  private constructor(
    dataDir: string,
    private readonly provisioner: PartitionProvisioner,
    options: TopicRegistryOptions,
  ) {
    super();
    this.persistence = options.persistence ?? filePersistence(dataDir);
    this.replicationFactors = options.replicationFactors ?? [1];
  }

  static async open(dataDir: string, provisioner: PartitionProvisioner, options: TopicRegistryOptions = {}): Promise<TopicRegistry> {
    const registry = new TopicRegistry(dataDir, provisioner, options);
    for (const topic of await registry.persistence.load()) {
      registry.topics.set(topic.name, topic);
      await provisioner.createPartitions(topic);
    }
    registry.persistence.follow?.((change) => registry.applyRemote(change));
    return registry;
  }

  /** A change another node made (a no-op when this node made it, or already knows). */
  applyRemote(change: RemoteTopicChange): Promise<void> {
    return this.serialized(async () => {
      if (change.kind === 'created') {
        if (this.topics.has(change.topic.name)) return;
        await this.provisioner.createPartitions(change.topic);
        this.topics.set(change.topic.name, change.topic);
        this.emit('change', { kind: 'created', topic: change.topic });
        return;
      }
      const topic = this.topics.get(change.name);
      if (!topic) return;
      this.topics.delete(change.name);
      this.emit('change', { kind: 'deleted', topic });
      await this.provisioner.deletePartitions(topic);
    });
  }

  list(): TopicDefinition[] {
    return [...this.topics.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  get(name: string): TopicDefinition | undefined {
    return this.topics.get(name);
  }

  /** Validates without side effects (dry run); throws TopicRequestError. */
  check(topic: TopicDefinition): void {
    validateDefinition(topic, this.replicationFactors);
    if (this.topics.has(topic.name)) throw new TopicRequestError(TOPIC_ERROR.alreadyExists, `topic "${topic.name}" already exists`);
    if (this.topics.size >= TOPIC_LIMITS.maxTopics) {
      throw new TopicRequestError(TOPIC_ERROR.invalidConfiguration, `this node holds the maximum of ${TOPIC_LIMITS.maxTopics} topics`);
    }
  }

  create(topic: TopicDefinition): Promise<void> {
    return this.serialized(async () => {
      this.check(topic);
      await this.provisioner.createPartitions(topic);
      this.topics.set(topic.name, topic);
      await this.persist({ kind: 'created', topic });
      this.emit('change', { kind: 'created', topic });
    });
  }

  delete(name: string): Promise<void> {
    return this.serialized(async () => {
      const topic = this.topics.get(name);
      if (!topic) throw new TopicRequestError(TOPIC_ERROR.notFound, `topic "${name}" not found`);
      this.topics.delete(name);
      await this.persist({ kind: 'deleted', topic });
      this.emit('change', { kind: 'deleted', topic });
      await this.provisioner.deletePartitions(topic);
    });
  }

  private persist(change: TopicEvent): Promise<void> {
    return this.persistence.save(change, this.list());
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    return this.queue.run(work);
  }
}
