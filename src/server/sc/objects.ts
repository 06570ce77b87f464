import net from 'node:net';
import type { TopicSpec, TopicStatus } from '../../protocol/index.js';
import { TopicResolution, topicPartitionCount } from '../../protocol/index.js';
import type { PartitionSpec, PartitionStatus } from '../../protocol/index.js';
import { PartitionResolution } from '../../protocol/index.js';
import type { SpuSpec, SpuStatus } from '../../protocol/index.js';
import { SpuStatusResolution, SpuType, Encryption } from '../../protocol/index.js';
import { topicCompressionCode, topicCompressionName, type Deduplication } from '../../protocol/index.js';
import type { Metadata } from '../../protocol/index.js';
import type { PartitionStore } from '../../storage/index.js';
import type { SmartModuleSpec, SmartModuleStatus } from '../../protocol/index.js';
import type { StoredSmartModule } from './smartmodule-registry.js';
import type { TopicDeduplication, TopicDefinition } from './topic-registry.js';

/** This node's single SPU, as clients must see it to route produce and fetch. */
export interface SpuIdentity {
  id: number;
  host: string;
  port: number;
}

/** A Fluvio TopicSpec as this node stores it; throws on what a single node cannot do. */
export function topicFromSpec(name: string, spec: TopicSpec, now = new Date()): TopicDefinition {
  const replicas = spec.replicas;
  const compression = topicCompressionName(spec.compressionType);
  if (compression === undefined) throw new Error(`unknown compression type ${spec.compressionType}`);
  if (replicas.type === 'Mirror') throw new Error('mirror topics are not supported by this node');
  const base = {
    name,
    compression,
    createdAt: now.toISOString(),
    ...(spec.cleanupPolicy ? { retentionSeconds: spec.cleanupPolicy.timeInSeconds } : {}),
    ...(spec.storage?.segmentSize !== undefined ? { segmentSize: spec.storage.segmentSize } : {}),
    ...(spec.storage?.maxPartitionSize !== undefined ? { maxPartitionSize: spec.storage.maxPartitionSize } : {}),
    ...(spec.deduplication ? { deduplication: dedupFromSpec(spec.deduplication) } : {}),
  };
  if (replicas.type === 'Computed') {
    return {
      ...base,
      partitions: replicas.partitions,
      replicationFactor: replicas.replicationFactor,
      ignoreRackAssignment: replicas.ignoreRackAssignment,
    };
  }
  const ids = replicas.maps.map((map) => map.id).sort((a, b) => a - b);
  if (ids.some((id, index) => id !== index)) throw new Error('partition maps must number partitions 0, 1, 2, ...');
  const factors = new Set(replicas.maps.map((map) => map.replicas.length));
  return {
    ...base,
    partitions: replicas.maps.length,
    replicationFactor: factors.size === 1 ? [...factors][0] : Math.max(...factors),
    ignoreRackAssignment: false,
    assignedReplicas: replicas.maps.map((map) => ({ id: map.id, replicas: [...map.replicas] })),
  };
}

function dedupFromSpec(dedup: Deduplication): TopicDeduplication {
  const age = dedup.bounds.age;
  const params = Object.fromEntries(dedup.filter.transform.with);
  return {
    count: dedup.bounds.count,
    ...(age ? { ageMs: age.seconds * 1000 + Math.floor(age.nanos / 1e6) } : {}),
    filter: dedup.filter.transform.uses,
    ...(Object.keys(params).length > 0 ? { params } : {}),
  };
}

function dedupSpec(dedup: TopicDeduplication): Deduplication {
  const age = dedup.ageMs === undefined ? undefined : { seconds: Math.floor(dedup.ageMs / 1000), nanos: (dedup.ageMs % 1000) * 1e6 };
  return {
    bounds: { count: dedup.count, ...(age ? { age } : {}) },
    filter: { transform: { uses: dedup.filter, with: new Map(Object.entries(dedup.params ?? {})) } },
  };
}

export function topicSpec(topic: TopicDefinition): TopicSpec {
  return {
    replicas: topic.assignedReplicas
      ? { type: 'Assigned', maps: topic.assignedReplicas.map((map) => ({ id: map.id, replicas: [...map.replicas] })) }
      : {
          type: 'Computed',
          partitions: topic.partitions,
          replicationFactor: topic.replicationFactor,
          ignoreRackAssignment: topic.ignoreRackAssignment,
        },
    ...(topic.retentionSeconds !== undefined ? { cleanupPolicy: { type: 'Segment', timeInSeconds: topic.retentionSeconds } } : {}),
    ...(topic.segmentSize !== undefined || topic.maxPartitionSize !== undefined
      ? {
          storage: {
            ...(topic.segmentSize !== undefined ? { segmentSize: topic.segmentSize } : {}),
            ...(topic.maxPartitionSize !== undefined ? { maxPartitionSize: topic.maxPartitionSize } : {}),
          },
        }
      : {}),
    compressionType: topicCompressionCode(topic.compression),
    ...(topic.deduplication ? { deduplication: dedupSpec(topic.deduplication) } : {}),
    system: false,
  };
}

export function topicMetadata(topic: TopicDefinition, spu: SpuIdentity): Metadata<TopicSpec, TopicStatus> {
  const spec = topicSpec(topic);
  const replicaMap = new Map<number, number[]>();
  for (let partition = 0; partition < topicPartitionCount(spec); partition++) replicaMap.set(partition, [spu.id]);
  return {
    name: topic.name,
    spec,
    status: { resolution: TopicResolution.Provisioned, replicaMap, mirrorMap: new Map(), reason: '' },
  };
}

/** Partition metadata with live offsets and size read from the store. */
export function partitionMetadata(
  topic: TopicDefinition,
  partition: number,
  spu: SpuIdentity,
  store: PartitionStore | undefined,
): Metadata<PartitionSpec, PartitionStatus> {
  const spec = topicSpec(topic);
  const hw = store?.highWatermark() ?? 0;
  return {
    name: `${topic.name}-${partition}`,
    spec: {
      leader: spu.id,
      replicas: [spu.id],
      ...(spec.cleanupPolicy ? { cleanupPolicy: spec.cleanupPolicy } : {}),
      ...(spec.storage ? { storage: spec.storage } : {}),
      compressionType: spec.compressionType,
      ...(spec.deduplication ? { deduplication: spec.deduplication } : {}),
      system: false,
    },
    status: {
      resolution: store ? PartitionResolution.Online : PartitionResolution.Offline,
      leader: { spu: spu.id, hw, leo: hw },
      lsr: 1,
      replicas: [],
      size: store?.sizeBytes() ?? 0,
      isBeingDeleted: false,
      baseOffset: store?.logStartOffset() ?? 0,
    },
  };
}

export function spuName(spu: SpuIdentity): string {
  return `custom-spu-${spu.id}`;
}

export function spuMetadata(spu: SpuIdentity): Metadata<SpuSpec, SpuStatus> {
  const address = net.isIP(spu.host) ? { ip: spu.host } : { hostname: spu.host };
  return {
    name: spuName(spu),
    spec: {
      id: spu.id,
      spuType: SpuType.Custom,
      publicEndpoint: { port: spu.port, ingress: [address], encryption: Encryption.PLAINTEXT },
      privateEndpoint: { port: spu.port, host: spu.host, encryption: Encryption.PLAINTEXT },
    },
    status: { resolution: SpuStatusResolution.Online },
  };
}

/** Without `payload`, the summary form Fluvio's `sm list` asks for: the module's length, not its bytes. */
export function smartModuleMetadata(module: StoredSmartModule, payload?: Buffer): Metadata<SmartModuleSpec, SmartModuleStatus> {
  const spec: SmartModuleSpec = {
    ...(module.meta ? { meta: { package: module.meta.package, params: new Map(Object.entries(module.meta.params)) } } : {}),
    wasm: { format: module.format, payload: payload ?? Buffer.alloc(0) },
  };
  if (!payload) spec.summary = { wasmLength: module.payloadLength };
  return { name: module.name, spec, status: {} };
}
