import type { Logger } from 'pino';
import { ScApiKey, SC_API_VERSIONS } from '../../protocol/index.js';
import { apiVersionsHandler, PLATFORM_VERSION, versionCheckedRouter } from '../api-versions.js';
import type { ServerLimits } from '../limits.js';
import type { RequestHandler, Router } from '../net/connection.js';
import type { ReplicaManager } from '../spu/replica-manager.js';
import { createHandler, deleteHandler, listHandler } from './admin.js';
import { MetadataView, type ClusterView } from './metadata-view.js';
import { smartModuleMetadata, spuMetadata, topicMetadata, type SpuIdentity } from './objects.js';
import type { SmartModuleRegistry } from './smartmodule-registry.js';
import type { TopicRegistry } from './topic-registry.js';
import { WatchService } from './watch-service.js';
import { visibility } from './visibility.js';
import type { Authorizer } from '../../auth/index.js';
import { nodeInfoHandler, type NodeInfoSource } from './node-info.js';
import { NODE_INFO_API_KEY, NODE_INFO_VERSIONS } from '../../protocol/index.js';

export interface ScContext {
  topics: TopicRegistry;
  smartmodules: SmartModuleRegistry;
  replicas: ReplicaManager;
  limits: ServerLimits;
  log: Logger;
  spu: SpuIdentity;
  /** Checks every request against the ACLs; watches and lists show only what the client may describe (absent: everything is allowed). */
  authorizer?: Authorizer;
  /** Several nodes sharing the partitions; `onLeaderChange` feeds the watch streams. */
  cluster?: ClusterView & { onLeaderChange(listener: (topic: string, partition: number) => void): void };
  /** Where the node's HTTP API is (Freshet's NodeInfo request). */
  nodeInfo?: NodeInfoSource;
}

/** The SC's request routing: metadata and admin. */
export function scRouter({ topics, smartmodules, replicas, limits, log, spu, authorizer, cluster, nodeInfo }: ScContext): Router {
  const view = new MetadataView(topics, replicas, smartmodules, spu, cluster);
  const visible = visibility(authorizer);
  const watches = new WatchService(view, limits, log, visible);
  cluster?.onLeaderChange((name, partition) => {
    const topic = topics.get(name);
    if (!topic || partition >= topic.partitions) return;
    // The new leader may be a node the client has not heard of yet.
    watches.publish('SPU', view.spus().map((content) => ({ kind: 'update' as const, content: spuMetadata(content) })));
    watches.publish('Partition', [{ kind: 'update', content: view.partition(topic, partition) }]);
  });
  topics.on('change', ({ kind, topic }) => {
    const change = kind === 'created' ? 'update' : 'delete';
    watches.publish('Topic', [{ kind: change, content: topicMetadata(topic, spu) }]);
    watches.publish(
      'Partition',
      view.partitionsOf(topic).map((content) => ({ kind: change, content })),
    );
  });
  smartmodules.on('change', ({ kind, module }) => {
    watches.publish('SmartModule', [{ kind: kind === 'created' ? 'update' : 'delete', content: smartModuleMetadata(module) }]);
  });
  const advertised = nodeInfo ? [...SC_API_VERSIONS, NODE_INFO_VERSIONS] : SC_API_VERSIONS;
  const handlers = new Map<number, RequestHandler>([
    [ScApiKey.ApiVersions, apiVersionsHandler(advertised, PLATFORM_VERSION)],
    [ScApiKey.Create, createHandler({ topics, smartmodules, authorizer }, log)],
    [ScApiKey.Delete, deleteHandler({ topics, smartmodules, authorizer }, log)],
    [ScApiKey.List, listHandler(view, visible)],
    [ScApiKey.Watch, watches.handle],
    ...(nodeInfo ? [[NODE_INFO_API_KEY, nodeInfoHandler(nodeInfo)] as const] : []),
  ]);
  return versionCheckedRouter(handlers, advertised);
}
