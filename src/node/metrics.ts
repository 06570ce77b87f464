// The node's Prometheus registry: the console's metric definitions fed from
// the parts this node runs.

import type { Registry } from 'prom-client';
import { createMetrics } from '../console/metrics.js';
import type { ConnectorManager } from '../connectors/manager.js';
import type { DataflowManager } from '../dataflow/manager.js';
import type { ReplicaManager } from '../server/spu/replica-manager.js';
import type { TopicRegistry } from '../server/sc/topic-registry.js';
import type { Authorizer, LoginGuard } from '../auth/index.js';
import type { NodeStats } from './node.js';

export interface MeteredParts {
  stats: () => NodeStats;
  topics: TopicRegistry;
  replicas: ReplicaManager;
  connectors: ConnectorManager | undefined;
  dataflows: DataflowManager | undefined;
  authorizer: Authorizer;
  loginGuard: LoginGuard;
}

export function nodeMetrics(parts: MeteredParts): Registry {
  const { topics, replicas, connectors, dataflows, authorizer, loginGuard } = parts;
  return createMetrics({
    node: parts.stats,
    auth: () => ({ denials: authorizer.denials, failedLogins: loginGuard.failed, lockedOutLogins: loginGuard.refused }),
    topics: () => topics.list().length,
    partitions: () =>
      topics.list().flatMap((t) =>
        Array.from({ length: t.partitions }, (_, partition) => {
          const store = replicas.get(t.name, partition);
          return { topic: t.name, partition, highWatermark: store?.highWatermark() ?? 0, sizeBytes: store?.sizeBytes() ?? 0 };
        }),
      ),
    ...(dataflows
      ? {
          dataflows: () =>
            dataflows.list().map((d) => ({
              name: d.name,
              running: d.state === 'running',
              services: dataflows.runtime(d.name)?.status().services ?? [],
            })),
        }
      : {}),
    ...(connectors
      ? {
          connectors: () =>
            connectors
              .list()
              .map((c) => ({ name: c.name, type: c.type, running: c.status.state === 'running', records: c.stats.records, deadLetters: c.stats.deadLetters, restarts: c.status.restarts })),
        }
      : {}),
  });
}
