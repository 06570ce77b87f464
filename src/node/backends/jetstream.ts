// A node whose partitions and topic table live in a NATS JetStream cluster.
// node.ts imports this module dynamically, only when the config names NATS
// URLs, so that the embedded default never loads the NATS client.

import type { Logger } from 'pino';
import type { StorageConfig } from '../../storage/index.js';
import { connectJetStream, DEFAULT_NAMESPACE, type JetStreamBackend } from '../../storage/jetstream/index.js';
import type { TopicRegistryOptions } from '../../server/sc/topic-registry.js';
import type { NatsNodeConfig } from '../config.js';
import { JetStreamReplicaManager, JETSTREAM_REPLICATION_FACTORS, membershipExpiryMs } from './jetstream-replicas.js';
import { DEFAULT_LEASE_TIMING } from './partition-lease.js';
import { bucketName, openBucket } from './kv-buckets.js';
import { kvTopicPersistence } from './kv-topics.js';
import { kvConsumerOffsets } from './kv-consumer-offsets.js';
import type { ConsumerOffsetBackend } from '../../server/spu/consumer-offsets.js';

export interface JetStreamNode {
  readonly backend: JetStreamBackend;
  readonly replicas: JetStreamReplicaManager;
  readonly topicOptions: TopicRegistryOptions;
  readonly consumerOffsets: ConsumerOffsetBackend;
  close(): Promise<void>;
}

export async function openJetStreamNode(nats: NatsNodeConfig, dataDir: string, storage: Partial<StorageConfig>, log: Logger): Promise<JetStreamNode> {
  const namespace = nats.namespace ?? DEFAULT_NAMESPACE;
  const backend = await connectJetStream(nats.urls, { name: `freshet ${dataDir}`, ...(nats.timeoutMs !== undefined ? { timeoutMs: nats.timeoutMs } : {}) });
  try {
    const topics = await openBucket(backend, bucketName(namespace, 'topics'), log);
    const timing = nats.lease ?? DEFAULT_LEASE_TIMING;
    const leases = await openBucket(backend, bucketName(namespace, 'leases'), log);
    const offsets = await openBucket(backend, bucketName(namespace, 'offsets'), log);
    const nodes = await openBucket(backend, bucketName(namespace, 'nodes'), log, { ttl: membershipExpiryMs(timing) });
    log.info({ nats: nats.urls.join(','), namespace }, 'partitions and metadata on NATS JetStream');
    return {
      backend,
      replicas: new JetStreamReplicaManager(dataDir, backend, namespace, storage, leases, nodes, timing, log),
      consumerOffsets: kvConsumerOffsets(offsets),
      topicOptions: { persistence: kvTopicPersistence(topics, log), replicationFactors: JETSTREAM_REPLICATION_FACTORS },
      close: () => backend.close(),
    };
  } catch (err) {
    await backend.close();
    throw err;
  }
}
