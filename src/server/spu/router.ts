import type { Logger } from 'pino';
import { SpuApiKey, SPU_API_VERSIONS } from '../../protocol/index.js';
import { apiVersionsHandler, PLATFORM_VERSION, versionCheckedRouter } from '../api-versions.js';
import type { ServerLimits } from '../limits.js';
import type { Authorizer } from '../../auth/index.js';
import type { RequestHandler, Router } from '../net/connection.js';
import { consumerOffsetHandlers, type ConsumerOffsetBackend } from './consumer-offsets.js';
import { fetchOffsetsHandler } from './fetch-offsets.js';
import { produceHandler } from './produce.js';
import type { ReplicaManager } from './replica-manager.js';
import { StreamFetchService } from './stream-fetch.js';
import type { SmartModuleService } from './smartmodules.js';
import { updateOffsetsHandler } from './update-offsets.js';

export interface SpuContext {
  replicas: ReplicaManager;
  limits: ServerLimits;
  log: Logger;
  /** The stream fetch service to route to; one is made when absent. */
  streams?: StreamFetchService;
  /** Runs SmartModule chains for produce requests (stream fetches get it through `streams`). */
  smartmodules?: SmartModuleService;
  /** Checks every request against the ACLs (absent: everything is allowed). */
  authorizer?: Authorizer;
  /** Where named consumers' offsets are stored (default: the data dir). */
  consumerOffsets?: ConsumerOffsetBackend;
}

/** The SPU's request routing: partitions' data plane. */
export function spuRouter({
  replicas,
  limits,
  log,
  smartmodules,
  authorizer,
  consumerOffsets: offsetBackend,
  streams = new StreamFetchService(replicas, limits, log, smartmodules, authorizer),
}: SpuContext): Router {
  const consumerOffsets = consumerOffsetHandlers(replicas, streams, log, offsetBackend, authorizer);
  const handlers = new Map<number, RequestHandler>([
    [SpuApiKey.ApiVersions, apiVersionsHandler(SPU_API_VERSIONS, PLATFORM_VERSION)],
    [SpuApiKey.Produce, produceHandler(replicas, log, smartmodules, authorizer)],
    [SpuApiKey.FetchOffsets, fetchOffsetsHandler(replicas, authorizer)],
    [SpuApiKey.StreamFetch, streams.streamFetch],
    [SpuApiKey.UpdateOffsets, updateOffsetsHandler(streams)],
    [SpuApiKey.UpdateConsumerOffset, consumerOffsets.update],
    [SpuApiKey.DeleteConsumerOffset, consumerOffsets.delete],
    [SpuApiKey.FetchConsumerOffsets, consumerOffsets.fetch],
  ]);
  return versionCheckedRouter(handlers, SPU_API_VERSIONS);
}
