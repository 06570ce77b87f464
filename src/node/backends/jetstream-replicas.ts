// The partitions of a node on the JetStream backend: one JetStream stream per
// partition, R1 or R3 as the topic's replication factor says. Several nodes
// share the streams; each partition is led by the node holding its lease
// (./partition-lease.ts), and only the leader opens the partition's store.
// The rest of the server sees the same ReplicaManager as on local disk: get()
// answers for the partitions this node leads, hasTopic() for every topic, so
// a produce to a partition led elsewhere is answered "not leader".

import type { KV, KvWatchEntry } from '@nats-io/kv';
import type { Logger } from 'pino';
import { ReplicaManager, partitionKey, topicStorageConfig } from '../../server/spu/replica-manager.js';
import { TOPIC_ERROR, TopicRequestError, type TopicDefinition } from '../../server/sc/topic-registry.js';
import type { SpuIdentity } from '../../server/sc/objects.js';
import { StorageError, type PartitionStore, type StorageConfig } from '../../storage/index.js';
import { ensurePartitionStream, JetStreamPartitionStore, type JetStreamBackend, type JetStreamStoreOptions, type ReplicationFactor } from '../../storage/jetstream/index.js';
import { leaseKey, PartitionLease, type LeaseHolder, type LeaseTiming } from './partition-lease.js';
import { NodeMembership } from './membership.js';

/** A node whose entry was not rewritten for this long is gone. */
export function membershipExpiryMs(timing: LeaseTiming): number {
  return timing.leaseMs * 2;
}

export const JETSTREAM_REPLICATION_FACTORS: readonly ReplicationFactor[] = [1, 3];

interface LedPartition {
  options: JetStreamStoreOptions;
  /** Made once the node has joined (its SPU address is what the lease names). */
  lease: PartitionLease | undefined;
  /** Set while the store opens after the lease was won. */
  opening?: Promise<void>;
}

/** Which partition a node prefers to lead: spread by topic and partition over the live nodes. */
function preferredRank(topic: string, partition: number, nodes: number): number {
  let hash = 0;
  for (const char of topic) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return (hash + partition) % nodes;
}

export class JetStreamReplicaManager extends ReplicaManager {
  private readonly stores = new Map<string, JetStreamPartitionStore>();
  private readonly partitions = new Map<string, LedPartition>();
  /** Lease holders of every partition, as the lease bucket's watch reports them. */
  private readonly leaders = new Map<string, LeaseHolder>();
  private readonly topicsKnown = new Set<string>();
  private loop: NodeJS.Timeout | undefined;
  private ticking = false;
  private closed = false;
  private stopWatch: (() => void) | undefined;
  private membership: NodeMembership | undefined;
  private readonly leaderListeners: ((topic: string, partition: number) => void)[] = [];

  constructor(
    dataDir: string,
    private readonly backend: JetStreamBackend,
    private readonly namespace: string,
    private readonly defaults: Partial<StorageConfig>,
    private readonly leases: KV,
    private readonly nodes: KV,
    private readonly timing: LeaseTiming,
    private readonly logger: Logger,
  ) {
    super(dataDir, defaults, logger);
  }

  /**
   * Joins the cluster as `self` (this node's SPU, listening by now), follows
   * the lease bucket and starts the lease loop. Until then the node leads
   * nothing.
   */
  async startLeading(self: SpuIdentity): Promise<void> {
    const membership = new NodeMembership(this.nodes, self, this.timing.heartbeatMs, membershipExpiryMs(this.timing));
    await membership.start();
    this.membership = membership;
    const watch = await this.leases.watch();
    this.stopWatch = () => watch.stop();
    void (async () => {
      for await (const entry of watch) this.leaderSeen(entry);
    })().catch((err: unknown) => this.logger.warn({ err }, 'lease watch ended'));
    this.loop = setInterval(() => void this.tick(), this.timing.heartbeatMs);
    this.loop.unref();
    await this.tick();
  }

  /** Leaves the cluster's node list (a clean stop); the leases go with closeAll. */
  async stopLeading(): Promise<void> {
    clearInterval(this.loop);
    await this.membership?.stop();
  }

  /** The live nodes' SPUs. */
  spus(): SpuIdentity[] {
    return this.membership?.live() ?? [];
  }

  /** Called when a partition's leader changes (the SC's watch streams). */
  onLeaderChange(listener: (topic: string, partition: number) => void): void {
    this.leaderListeners.push(listener);
  }

  /** SPU id of the partition's leader (undefined while nobody holds its lease). */
  leaderOf(topic: string, partition: number): number | undefined {
    return this.leaders.get(leaseKey(topic, partition))?.spuId;
  }

  override get(topic: string, partition: number): PartitionStore | undefined {
    return this.stores.get(partitionKey(topic, partition));
  }

  override hasTopic(topic: string): boolean {
    return this.topicsKnown.has(topic);
  }

  override holds(store: PartitionStore): boolean {
    return this.stores.get(partitionKey(store.topic, store.partition)) === store;
  }

  override async createPartitions(topic: TopicDefinition): Promise<void> {
    const replicas = topic.replicationFactor as ReplicationFactor;
    const config = topicStorageConfig(topic, this.defaults);
    const all: JetStreamStoreOptions[] = [];
    try {
      for (let partition = 0; partition < topic.partitions; partition++) {
        const options = { topic: topic.name, partition, replicas, config, create: true, namespace: this.namespace };
        await ensurePartitionStream(this.backend, options);
        all.push({ ...options, create: false });
      }
    } catch (err) {
      if (err instanceof StorageError && err.code === 'CONFIG') throw new TopicRequestError(TOPIC_ERROR.invalidConfiguration, err.message);
      throw err;
    }
    this.topicsKnown.add(topic.name);
    this.definitions.set(topic.name, topic);
    for (const options of all) {
      const key = partitionKey(options.topic, options.partition);
      this.partitions.set(key, { options, lease: undefined });
    }
    await this.tick();
  }

  override async deletePartitions(topic: TopicDefinition): Promise<void> {
    this.topicsKnown.delete(topic.name);
    this.definitions.delete(topic.name);
    for (let partition = 0; partition < topic.partitions; partition++) {
      const key = partitionKey(topic.name, partition);
      const led = this.partitions.get(key);
      this.partitions.delete(key);
      const store = this.stores.get(key);
      this.stores.delete(key);
      if (store) this.emit('removed', topic.name, partition);
      await store?.delete();
      await led?.lease?.release().catch(() => {});
    }
  }

  /** Closes the stores this node leads, then gives their leases up so that others take over at once. */
  override async closeAll(): Promise<void> {
    this.closed = true;
    clearInterval(this.loop);
    this.stopWatch?.();
    const stores = [...this.stores.values()];
    this.stores.clear();
    await Promise.all(stores.map((store) => store.close()));
    await Promise.allSettled([...this.partitions.values()].map((led) => led.lease?.release()));
    this.partitions.clear();
  }

  /** One round of the lease loop: tries every partition this node does not lead. */
  private async tick(): Promise<void> {
    const membership = this.membership;
    if (this.ticking || this.closed || !membership) return;
    this.ticking = true;
    try {
      const live = membership.live();
      const rank = Math.max(0, live.findIndex((spu) => spu.id === membership.self.id));
      for (const [key, led] of this.partitions) {
        led.lease ??= new PartitionLease(this.leases, leaseKey(led.options.topic, led.options.partition), membership.holder, this.timing, () => void this.lost(key));
        if (led.lease.held || this.closed) continue;
        const preferred = preferredRank(led.options.topic, led.options.partition, Math.max(1, live.length)) === rank;
        const state = await led.lease.tryAcquire(preferred).catch((err: unknown) => {
          this.logger.warn({ err, partition: key }, 'lease check failed');
          return undefined;
        });
        if (state?.held) led.opening = this.lead(key, led);
      }
    } finally {
      this.ticking = false;
    }
  }

  private async lead(key: string, led: LedPartition): Promise<void> {
    try {
      const store = await JetStreamPartitionStore.open(this.backend, led.options);
      if (!led.lease?.held || this.closed || this.partitions.get(key) !== led) {
        await store.close();
        return;
      }
      this.stores.set(key, store);
      this.logger.info({ partition: key }, 'leading partition');
    } catch (err) {
      this.logger.warn({ err, partition: key }, 'could not open a partition after winning its lease; giving the lease up');
      await led.lease?.release().catch(() => {});
    }
  }

  private async lost(key: string): Promise<void> {
    const store = this.stores.get(key);
    this.stores.delete(key);
    this.logger.warn({ partition: key }, 'partition lease lost to another node');
    await store?.close();
  }

  private leaderSeen(entry: KvWatchEntry): void {
    const before = this.leaders.get(entry.key)?.spuId;
    if (entry.operation === 'PUT') this.leaders.set(entry.key, entry.json<LeaseHolder>());
    else this.leaders.delete(entry.key);
    if (this.leaders.get(entry.key)?.spuId === before) return;
    const dot = entry.key.lastIndexOf('.');
    for (const listener of this.leaderListeners) listener(entry.key.slice(0, dot), Number(entry.key.slice(dot + 1)));
  }
}
