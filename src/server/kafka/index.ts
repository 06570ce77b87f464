import type { Logger } from 'pino';
import type { ServerLimits } from '../limits.js';
import type { ReplicaManager } from '../spu/replica-manager.js';
import type { TopicRegistry } from '../sc/topic-registry.js';
import type { KafkaContext } from './context.js';
import { DEFAULT_GROUP_LIMITS, GroupCoordinator, type GroupLimits } from './group-coordinator.js';
import { FileGroupOffsetStore } from './group-offsets.js';
import { KafkaListener } from './listener.js';
import { ProducerState } from './producer-state.js';
import { kafkaRouting } from './router.js';

export { GroupCoordinator } from './group-coordinator.js';
export type { GroupDescription, GroupState } from './group-coordinator.js';

export interface KafkaListenerConfig {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** When `port` is taken, listen on a free port instead (with a warning): for the default port, which a real Kafka may hold. */
  fallbackToFreePort?: boolean;
  /** The port clients are told to connect to (Kafka's advertised listener), when it is not `port` (a proxy in front). */
  advertisedPort?: number;
  nodeId: number;
  dataDir: string;
  replicas: ReplicaManager;
  topics: TopicRegistry;
  limits: ServerLimits;
  log: Logger;
  groups?: Partial<GroupLimits>;
  autoCreateTopics?: boolean;
}

export interface RunningKafkaListener {
  readonly port: number;
  readonly groups: GroupCoordinator;
  readonly producers: ProducerState;
  connectionCount(): number;
  close(): Promise<void>;
}

/** Starts the Kafka listener over the node's topics and partitions. */
export async function startKafkaListener(config: KafkaListenerConfig): Promise<RunningKafkaListener> {
  const log = config.log.child({ component: 'kafka' });
  const producers = await ProducerState.open(config.dataDir, config.replicas, log);
  const offsets = await FileGroupOffsetStore.open(config.dataDir);
  const groups = new GroupCoordinator(offsets, { ...DEFAULT_GROUP_LIMITS, ...config.groups }, log);
  const broker = { nodeId: config.nodeId, host: config.host, port: config.port };
  const ctx: KafkaContext = {
    replicas: config.replicas,
    topics: config.topics,
    producers,
    groups,
    limits: config.limits,
    log,
    broker,
    autoCreateTopics: config.autoCreateTopics ?? true,
  };
  const onTopicChange = (event: { kind: string; topic: { name: string } }) => {
    if (event.kind === 'deleted') void offsets.forgetTopic(event.topic.name);
  };
  config.topics.on('change', onTopicChange);
  const listener = new KafkaListener(kafkaRouting(ctx), config.limits, log);
  let port: number;
  try {
    try {
      port = await listener.listen(config.host, config.port);
    } catch (err) {
      if (!config.fallbackToFreePort || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      port = await listener.listen(config.host, 0);
      log.warn({ wanted: config.port, port }, 'the Kafka port is in use; the Kafka listener took a free port');
    }
    broker.port = config.advertisedPort ?? port;
  } catch (err) {
    config.topics.off('change', onTopicChange);
    throw err;
  }
  log.info({ kafka: `${config.host}:${port}` }, 'kafka listener started');
  return {
    port,
    groups,
    producers,
    connectionCount: () => listener.connectionCount,
    async close() {
      config.topics.off('change', onTopicChange);
      groups.close();
      await listener.close();
    },
  };
}
