import { kafka } from '../../protocol/index.js';
import type { KafkaContext } from './context.js';
import { fetchHandler } from './fetch.js';
import {
  describeGroupsHandler,
  findCoordinatorHandler,
  heartbeatHandler,
  joinGroupHandler,
  leaveGroupHandler,
  listGroupsHandler,
  offsetCommitHandler,
  offsetFetchHandler,
  syncGroupHandler,
} from './groups.js';
import type { KafkaHandler, KafkaRouting } from './listener.js';
import { listOffsetsHandler } from './list-offsets.js';
import { metadataHandler } from './metadata.js';
import { produceHandler } from './produce.js';
import { createTopicsHandler, deleteTopicsHandler } from './topics.js';

const { KAFKA_APIS, KafkaApiKey, kafkaApi, KafkaError } = kafka;
type KafkaApi = kafka.KafkaApi;
type InitProducerIdRequestData = kafka.InitProducerIdRequestData;

function apiVersionsBody(errorCode: number) {
  return {
    errorCode,
    apiKeys: KAFKA_APIS.map((api) => ({ apiKey: api.apiKey, minVersion: api.minVersion, maxVersion: api.maxVersion })),
    throttleTimeMs: 0,
  };
}

/** InitProducerId (22): idempotent producers only; a transactional id is refused (transactions are not supported). */
function initProducerIdHandler(ctx: KafkaContext): KafkaHandler {
  return async (request) => {
    const init = request as InitProducerIdRequestData;
    if (init.transactionalId !== null) {
      return { errorCode: KafkaError.TransactionalIdAuthorizationFailed, producerId: -1, producerEpoch: -1 };
    }
    const { producerId, epoch } = ctx.producers.newProducer();
    await ctx.producers.save();
    return { errorCode: KafkaError.None, producerId, producerEpoch: epoch };
  };
}

/** Every Kafka API this node serves, by key. */
export function kafkaRouting(ctx: KafkaContext): KafkaRouting {
  const handlers = new Map<number, KafkaHandler>([
    [KafkaApiKey.ApiVersions, () => apiVersionsBody(KafkaError.None)],
    [KafkaApiKey.Metadata, metadataHandler(ctx)],
    [KafkaApiKey.Produce, produceHandler(ctx)],
    [KafkaApiKey.Fetch, fetchHandler(ctx)],
    [KafkaApiKey.ListOffsets, listOffsetsHandler(ctx)],
    [KafkaApiKey.CreateTopics, createTopicsHandler(ctx)],
    [KafkaApiKey.DeleteTopics, deleteTopicsHandler(ctx)],
    [KafkaApiKey.FindCoordinator, findCoordinatorHandler(ctx)],
    [KafkaApiKey.JoinGroup, joinGroupHandler(ctx)],
    [KafkaApiKey.SyncGroup, syncGroupHandler(ctx)],
    [KafkaApiKey.Heartbeat, heartbeatHandler(ctx)],
    [KafkaApiKey.LeaveGroup, leaveGroupHandler(ctx)],
    [KafkaApiKey.OffsetCommit, offsetCommitHandler(ctx)],
    [KafkaApiKey.OffsetFetch, offsetFetchHandler(ctx)],
    [KafkaApiKey.DescribeGroups, describeGroupsHandler(ctx)],
    [KafkaApiKey.ListGroups, listGroupsHandler(ctx)],
    [KafkaApiKey.InitProducerId, initProducerIdHandler(ctx)],
  ]);
  return {
    handler: (apiKey) => handlers.get(apiKey),
    // An ApiVersions we cannot read is answered at v0 with UNSUPPORTED_VERSION
    // and our ranges (KIP-511); other unsupported requests close the
    // connection with the reason logged, as Kafka brokers do.
    unsupported: (header) =>
      header.apiKey === KafkaApiKey.ApiVersions
        ? { api: kafkaApi(KafkaApiKey.ApiVersions) as KafkaApi, version: 0, body: apiVersionsBody(KafkaError.UnsupportedVersion) }
        : undefined,
  };
}
