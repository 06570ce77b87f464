/**
 * The JetStream backend: import it dynamically (`await import(...)`) and only
 * when a node is given NATS URLs, so that the embedded default never loads
 * the NATS client.
 */
export { connectJetStream, NatsUnavailableError } from './backend.js';
export { parseNatsUrls } from './urls.js';
export type { JetStreamBackend, JetStreamConnectOptions } from './backend.js';
export { JetStreamPartitionStore, ensurePartitionStream, partitionStreamConfig, REPLICAS_REFUSED } from './jetstream-partition-store.js';
export type { JetStreamStoreOptions, ReplicationFactor } from './jetstream-partition-store.js';
export { DEFAULT_NAMESPACE, partitionStreamName, partitionSubject } from './naming.js';
