import { kafka } from '../../protocol/index.js';
import { TopicRequestError, type TopicDefinition } from '../sc/topic-registry.js';
import { topicById, topicId, type KafkaContext } from './context.js';
import { kafkaTopicError } from './metadata.js';

const { KafkaError } = kafka;
type CreateTopicsRequestData = kafka.CreateTopicsRequestData;
type DeleteTopicsRequestData = kafka.DeleteTopicsRequestData;

export function newTopic(name: string, partitions: number): TopicDefinition {
  return { name, partitions, replicationFactor: 1, ignoreRackAssignment: false, compression: 'any', createdAt: new Date().toISOString() };
}

/** Kafka topic configs that map onto a Freshet topic's settings; others are accepted and ignored (docs/kafka.md). */
function applyConfig(topic: TopicDefinition, name: string, value: string | null): string | undefined {
  if (value === null) return undefined;
  const number = Number(value);
  switch (name) {
    case 'retention.ms':
      if (!Number.isInteger(number)) return `${name} must be an integer`;
      if (number >= 1000) topic.retentionSeconds = Math.floor(number / 1000);
      return undefined;
    case 'segment.bytes':
      if (!Number.isInteger(number)) return `${name} must be an integer`;
      topic.segmentSize = number;
      return undefined;
    case 'retention.bytes':
      if (!Number.isInteger(number)) return `${name} must be an integer`;
      if (number > 0) topic.maxPartitionSize = number;
      return undefined;
    default:
      return undefined;
  }
}

/** CreateTopics (19): one replica on this node; -1 partitions or replicas mean the default (1). */
export function createTopicsHandler(ctx: KafkaContext) {
  return async (request: Record<string, unknown>) => {
    const { topics, validateOnly } = request as CreateTopicsRequestData;
    const results = [];
    for (const entry of topics) {
      const partitions = entry.numPartitions === -1 ? (entry.assignments.length || 1) : entry.numPartitions;
      const topic = newTopic(entry.name, partitions);
      topic.replicationFactor = entry.replicationFactor === -1 ? 1 : entry.replicationFactor;
      const result = { name: entry.name, topicId: Buffer.alloc(16), errorCode: KafkaError.None, errorMessage: null as string | null, numPartitions: partitions, replicationFactor: topic.replicationFactor, configs: [] };
      const configError = entry.configs.map((config) => applyConfig(topic, config.name, config.value)).find((message) => message !== undefined);
      if (configError) {
        results.push({ ...result, errorCode: KafkaError.InvalidConfig, errorMessage: configError });
        continue;
      }
      try {
        if (validateOnly) ctx.topics.check(topic);
        else await ctx.topics.create(topic);
        results.push({ ...result, topicId: topicId(ctx.topics.get(topic.name) ?? topic) });
      } catch (err) {
        if (!(err instanceof TopicRequestError)) throw err;
        const code = err.message.includes('replication factor') ? KafkaError.InvalidReplicationFactor : err.message.includes('partitions') ? KafkaError.InvalidPartitions : kafkaTopicError(err);
        results.push({ ...result, errorCode: code, errorMessage: err.message });
      }
    }
    return { topics: results };
  };
}

/** DeleteTopics (20): by name (v0-5) or by name or topic id (v6). */
export function deleteTopicsHandler(ctx: KafkaContext) {
  return async (request: Record<string, unknown>) => {
    const { topics, topicNames } = request as DeleteTopicsRequestData;
    const wanted = topics.length > 0 ? topics : topicNames.map((name) => ({ name, topicId: Buffer.alloc(16) }));
    const responses = [];
    for (const entry of wanted) {
      const name = entry.name ?? topicById(ctx.topics, entry.topicId)?.name ?? null;
      const topic = name === null ? undefined : ctx.topics.get(name);
      if (!topic) {
        responses.push({ name, topicId: entry.topicId, errorCode: KafkaError.UnknownTopicOrPartition, errorMessage: 'no such topic' });
        continue;
      }
      try {
        await ctx.topics.delete(topic.name);
        for (let partition = 0; partition < topic.partitions; partition++) ctx.producers.forgetPartition(topic.name, partition);
        responses.push({ name: topic.name, topicId: topicId(topic), errorCode: KafkaError.None, errorMessage: null });
      } catch (err) {
        if (!(err instanceof TopicRequestError)) throw err;
        responses.push({ name: topic.name, topicId: topicId(topic), errorCode: kafkaTopicError(err), errorMessage: err.message });
      }
    }
    return { responses };
  };
}
