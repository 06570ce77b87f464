import type { KnownKind, ObjectMetadata } from '../../protocol/messages/objects/kinds.js';
import type { ReplicaManager } from '../spu/replica-manager.js';
import { partitionMetadata, spuMetadata, topicMetadata, type SpuIdentity } from './objects.js';
import type { TopicDefinition, TopicRegistry } from './topic-registry.js';

/** The SC's objects as Fluvio clients see them, computed from the node's state. */
export class MetadataView {
  constructor(
    private readonly topics: TopicRegistry,
    private readonly replicas: ReplicaManager,
    readonly spu: SpuIdentity,
  ) {}

  list<K extends KnownKind>(kind: K): ObjectMetadata<K>[];
  list(kind: KnownKind): ObjectMetadata<KnownKind>[] {
    switch (kind) {
      case 'Topic':
        return this.topics.list().map((topic) => topicMetadata(topic, this.spu));
      case 'Partition':
        return this.topics.list().flatMap((topic) => this.partitionsOf(topic));
      case 'SPU':
      case 'CustomSpu':
        return [spuMetadata(this.spu)] as ObjectMetadata<KnownKind>[];
      case 'SmartModule':
        return [];
    }
  }

  partitionsOf(topic: TopicDefinition): ObjectMetadata<'Partition'>[] {
    return Array.from({ length: topic.partitions }, (_, partition) =>
      partitionMetadata(topic, partition, this.spu, this.replicas.get(topic.name, partition)),
    );
  }
}
