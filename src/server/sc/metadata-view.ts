import type { KnownKind, ObjectMetadata } from '../../protocol/index.js';
import type { ReplicaManager } from '../spu/replica-manager.js';
import { partitionMetadata, smartModuleMetadata, spuMetadata, topicMetadata, type SpuIdentity } from './objects.js';
import type { SmartModuleRegistry } from './smartmodule-registry.js';
import type { TopicDefinition, TopicRegistry } from './topic-registry.js';

/**
 * Several nodes sharing partitions (the JetStream backend): every live SPU,
 * and which one leads each partition. Without it, this node's SPU leads all.
 */
export interface ClusterView {
  spus(): SpuIdentity[];
  leaderOf(topic: string, partition: number): number | undefined;
}

/** The SC's objects as Fluvio clients see them, computed from the node's state. */
export class MetadataView {
  constructor(
    private readonly topics: TopicRegistry,
    private readonly replicas: ReplicaManager,
    private readonly smartmodules: SmartModuleRegistry,
    readonly spu: SpuIdentity,
    private readonly cluster?: ClusterView,
  ) {}

  /** Every SPU clients may be sent to. */
  spus(): SpuIdentity[] {
    return this.cluster?.spus() ?? [this.spu];
  }

  list<K extends KnownKind>(kind: K): ObjectMetadata<K>[];
  list(kind: KnownKind): ObjectMetadata<KnownKind>[] {
    switch (kind) {
      case 'Topic':
        return this.topics.list().map((topic) => topicMetadata(topic, this.spu));
      case 'Partition':
        return this.topics.list().flatMap((topic) => this.partitionsOf(topic));
      case 'SPU':
      case 'CustomSpu':
        return this.spus().map((spu) => spuMetadata(spu)) as ObjectMetadata<KnownKind>[];
      case 'SmartModule':
        return this.smartmodules.list().map((module) => smartModuleMetadata(module)) as ObjectMetadata<KnownKind>[];
    }
  }

  /** SmartModules with their module bytes, for a List that asks for more than a summary. */
  async smartModulesWithPayload(): Promise<ObjectMetadata<'SmartModule'>[]> {
    return Promise.all(
      this.smartmodules.list().map(async (module) => smartModuleMetadata(module, await this.smartmodules.payload(module))),
    );
  }

  partitionsOf(topic: TopicDefinition): ObjectMetadata<'Partition'>[] {
    return Array.from({ length: topic.partitions }, (_, partition) => this.partition(topic, partition));
  }

  partition(topic: TopicDefinition, partition: number): ObjectMetadata<'Partition'> {
    const leader = this.cluster?.leaderOf(topic.name, partition) ?? this.spu.id;
    return partitionMetadata(topic, partition, { ...this.spu, id: leader }, this.replicas.get(topic.name, partition));
  }
}
