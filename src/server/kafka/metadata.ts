import { kafka } from '../../protocol/index.js';
import { TopicRequestError, TOPIC_ERROR, type TopicDefinition } from '../sc/topic-registry.js';
import { CLUSTER_ID, topicId, type KafkaContext } from './context.js';
import type { KafkaRequestContext } from './listener.js';
import { newTopic } from './topics.js';

const { KafkaError } = kafka;
type MetadataRequestData = kafka.MetadataRequestData;

/** Kafka's answer for a topic request error of the registry. */
export function kafkaTopicError(err: TopicRequestError): number {
  switch (err.code) {
    case TOPIC_ERROR.alreadyExists:
      return KafkaError.TopicAlreadyExists;
    case TOPIC_ERROR.notFound:
      return KafkaError.UnknownTopicOrPartition;
    case TOPIC_ERROR.invalidName:
      return KafkaError.InvalidTopicException;
    default:
      return KafkaError.InvalidConfig;
  }
}

function describeTopic(ctx: KafkaContext, topic: TopicDefinition) {
  const nodes = [ctx.broker.nodeId];
  return {
    errorCode: KafkaError.None,
    name: topic.name,
    topicId: topicId(topic),
    isInternal: false,
    partitions: Array.from({ length: topic.partitions }, (_, partitionIndex) => ({
      errorCode: KafkaError.None,
      partitionIndex,
      leaderId: ctx.broker.nodeId,
      leaderEpoch: 0,
      replicaNodes: nodes,
      isrNodes: nodes,
      offlineReplicas: [],
    })),
  };
}

/** Metadata (3): this node is the only broker; every topic of the registry, or the ones asked for. */
export function metadataHandler(ctx: KafkaContext) {
  return async (request: Record<string, unknown>, { header }: KafkaRequestContext) => {
    const { topics: wanted, allowAutoTopicCreation } = request as MetadataRequestData;
    const topics = [];
    if (wanted === null) {
      for (const topic of ctx.topics.list()) topics.push(describeTopic(ctx, topic));
    } else {
      for (const entry of wanted) {
        const name = entry.name;
        if (name === null) {
          topics.push({ errorCode: KafkaError.UnknownTopicOrPartition, name: null, topicId: entry.topicId, partitions: [] });
          continue;
        }
        let topic = ctx.topics.get(name);
        if (!topic && ctx.autoCreateTopics && (header.apiVersion < 4 || allowAutoTopicCreation)) {
          try {
            await ctx.topics.create(newTopic(name, 1));
          } catch (err) {
            if (!(err instanceof TopicRequestError)) throw err;
            if (err.code !== TOPIC_ERROR.alreadyExists) {
              topics.push({ errorCode: kafkaTopicError(err), name, partitions: [] });
              continue;
            }
          }
          topic = ctx.topics.get(name);
        }
        topics.push(topic ? describeTopic(ctx, topic) : { errorCode: KafkaError.UnknownTopicOrPartition, name, partitions: [] });
      }
    }
    return {
      brokers: [{ nodeId: ctx.broker.nodeId, host: ctx.broker.host, port: ctx.broker.port, rack: null }],
      clusterId: CLUSTER_ID,
      controllerId: ctx.broker.nodeId,
      topics,
    };
  };
}
