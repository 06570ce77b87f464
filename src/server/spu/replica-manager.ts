import path from 'node:path';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { FilePartitionStore, type PartitionStore, type StorageConfig, type StorageHooks } from '../../storage/index.js';
import type { PartitionProvisioner, TopicCompression, TopicDefinition } from '../sc/topic-registry.js';
import { AppendOrder } from './append-order.js';

export function partitionKey(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

/** The storage settings a topic's own config overrides. */
export function topicStorageConfig(topic: TopicDefinition, defaults: Partial<StorageConfig>): Partial<StorageConfig> {
  return {
    ...defaults,
    ...(topic.segmentSize !== undefined ? { segmentSize: topic.segmentSize } : {}),
    ...(topic.maxPartitionSize !== undefined ? { maxPartitionSize: topic.maxPartitionSize } : {}),
    ...(topic.retentionSeconds !== undefined ? { retentionMs: topic.retentionSeconds * 1000 } : {}),
  };
}

/**
 * The partitions this SPU leads: every partition of every topic, since a
 * single node leads them all. Emits `removed` before a partition's files go,
 * so that open streams can end with TopicDeleted.
 */
export class ReplicaManager
  extends EventEmitter<{ removed: [topic: string, partition: number] }>
  implements PartitionProvisioner
{
  private readonly replicas = new Map<string, PartitionStore & { delete(): Promise<void> }>();
  /** Every produce path (Fluvio's, later Kafka's) appends through this line, keyed by partitionKey. */
  readonly appendOrder = new AppendOrder();
  /** The definitions of the topics whose partitions this SPU holds: compression, deduplication. */
  protected readonly definitions = new Map<string, TopicDefinition>();

  constructor(
    readonly dataDir: string,
    private readonly storageDefaults: Partial<StorageConfig>,
    private readonly log: Logger,
    /** For tests and instrumentation: every partition's I/O goes through them. */
    private readonly storageHooks: StorageHooks = {},
  ) {
    super();
  }

  get(topic: string, partition: number): PartitionStore | undefined {
    return this.replicas.get(partitionKey(topic, partition));
  }

  /** The definition of a topic whose partitions this SPU holds (its deduplication, for one). */
  definition(topic: string): TopicDefinition | undefined {
    return this.definitions.get(topic);
  }

  hasTopic(topic: string): boolean {
    return this.replicas.has(partitionKey(topic, 0));
  }

  /** The topic's compression setting (undefined for a topic this SPU does not lead). */
  compressionOf(topic: string): TopicCompression | undefined {
    return this.definitions.get(topic)?.compression;
  }

  /** False once the partition of `store` was deleted (or closed): what a request racing the delete answers TopicDeleted on. */
  holds(store: PartitionStore): boolean {
    return this.replicas.get(partitionKey(store.topic, store.partition)) === store;
  }

  async createPartitions(topic: TopicDefinition): Promise<void> {
    const config = topicStorageConfig(topic, this.storageDefaults);
    const opened: FilePartitionStore[] = [];
    try {
      for (let partition = 0; partition < topic.partitions; partition++) {
        const dir = path.join(this.dataDir, 'partitions');
        opened.push(await FilePartitionStore.open(dir, topic.name, partition, config, this.log, this.storageHooks));
      }
    } catch (err) {
      await Promise.allSettled(opened.map((store) => store.close()));
      throw err;
    }
    for (const store of opened) this.replicas.set(partitionKey(store.topic, store.partition), store);
    this.definitions.set(topic.name, topic);
  }

  async deletePartitions(topic: TopicDefinition): Promise<void> {
    this.definitions.delete(topic.name);
    for (let partition = 0; partition < topic.partitions; partition++) {
      const key = partitionKey(topic.name, partition);
      const store = this.replicas.get(key);
      if (!store) continue;
      this.replicas.delete(key);
      this.emit('removed', topic.name, partition);
      await store.delete();
    }
  }

  async closeAll(): Promise<void> {
    const stores = [...this.replicas.values()];
    this.replicas.clear();
    this.definitions.clear();
    await Promise.all(stores.map((store) => store.close()));
  }
}
