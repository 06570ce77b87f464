import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { ServerLimits } from '../limits.js';
import type { ReplicaManager } from '../spu/replica-manager.js';
import type { TopicDefinition, TopicRegistry } from '../sc/topic-registry.js';
import type { ProducerState } from './producer-state.js';
import type { GroupCoordinator } from './group-coordinator.js';

/** Everything the Kafka handlers share. */
export interface KafkaContext {
  replicas: ReplicaManager;
  topics: TopicRegistry;
  producers: ProducerState;
  groups: GroupCoordinator;
  limits: ServerLimits;
  log: Logger;
  /** This node as Kafka clients see it: the one broker, leader of every partition and coordinator of every group. */
  broker: { nodeId: number; host: string; port: number };
  /** Create a one-partition topic when a client asks Metadata for an unknown one (Kafka's auto.create.topics.enable). */
  autoCreateTopics: boolean;
}

export const CLUSTER_ID = 'freshet';

const topicIds = new WeakMap<TopicDefinition, Buffer>();

/** A stable 16-byte topic id (Metadata v10+, Fetch v13, DeleteTopics v6) derived from the topic's name and creation time. */
export function topicId(topic: TopicDefinition): Buffer {
  let id = topicIds.get(topic);
  if (!id) {
    id = createHash('sha256').update(`${topic.name}\0${topic.createdAt}`).digest().subarray(0, 16);
    topicIds.set(topic, id);
  }
  return id;
}

export function topicById(topics: TopicRegistry, id: Buffer): TopicDefinition | undefined {
  return topics.list().find((topic) => topicId(topic).equals(id));
}
