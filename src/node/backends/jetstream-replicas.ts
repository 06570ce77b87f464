// The partitions of a node on the JetStream backend: one JetStream stream per
// partition, R1 or R3 as the topic's replication factor says. The rest of the
// server sees the same ReplicaManager as on local disk.

import type { Logger } from 'pino';
import { ReplicaManager, partitionKey, topicStorageConfig } from '../../server/spu/replica-manager.js';
import { TOPIC_ERROR, TopicRequestError, type TopicDefinition } from '../../server/sc/topic-registry.js';
import { StorageError, type PartitionStore, type StorageConfig } from '../../storage/index.js';
import { JetStreamPartitionStore, type JetStreamBackend, type ReplicationFactor } from '../../storage/jetstream/index.js';

export const JETSTREAM_REPLICATION_FACTORS: readonly ReplicationFactor[] = [1, 3];

export class JetStreamReplicaManager extends ReplicaManager {
  private readonly stores = new Map<string, JetStreamPartitionStore>();

  constructor(
    dataDir: string,
    private readonly backend: JetStreamBackend,
    private readonly namespace: string,
    private readonly defaults: Partial<StorageConfig>,
    log: Logger,
  ) {
    super(dataDir, defaults, log);
  }

  override get(topic: string, partition: number): PartitionStore | undefined {
    return this.stores.get(partitionKey(topic, partition));
  }

  override hasTopic(topic: string): boolean {
    return this.stores.has(partitionKey(topic, 0));
  }

  override async createPartitions(topic: TopicDefinition): Promise<void> {
    const replicas = topic.replicationFactor as ReplicationFactor;
    const config = topicStorageConfig(topic, this.defaults);
    const opened: JetStreamPartitionStore[] = [];
    try {
      for (let partition = 0; partition < topic.partitions; partition++) {
        opened.push(await JetStreamPartitionStore.open(this.backend, { topic: topic.name, partition, replicas, config, create: true, namespace: this.namespace }));
      }
    } catch (err) {
      await Promise.allSettled(opened.map((store) => store.close()));
      if (err instanceof StorageError && err.code === 'CONFIG') throw new TopicRequestError(TOPIC_ERROR.invalidConfiguration, err.message);
      throw err;
    }
    for (const store of opened) this.stores.set(partitionKey(store.topic, store.partition), store);
  }

  override async deletePartitions(topic: TopicDefinition): Promise<void> {
    for (let partition = 0; partition < topic.partitions; partition++) {
      const key = partitionKey(topic.name, partition);
      const store = this.stores.get(key);
      if (!store) continue;
      this.stores.delete(key);
      this.emit('removed', topic.name, partition);
      await store.delete();
    }
  }

  override async closeAll(): Promise<void> {
    const stores = [...this.stores.values()];
    this.stores.clear();
    await Promise.all(stores.map((store) => store.close()));
  }
}
