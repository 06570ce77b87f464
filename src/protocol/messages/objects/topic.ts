// Topic objects (store key = topic name).
//
// TopicSpec:
//   replicas          ReplicaSpec, enum u8
//                       0 Assigned(Vec<PartitionMap>)
//                           PartitionMap { id u32, replicas Vec<i32>, mirror Option<PartitionMirrorConfig> (v >= 14) }
//                       1 Computed { partitions u32, replication_factor u32, ignore_rack_assignment bool }
//                       2 Mirror(MirrorConfig), enum u8
//                           0 Remote { home_cluster String, home_spus Vec<{id i32, key String, endpoint String}> }
//                           1 Home(Vec<HomePartitionConfig { remote_cluster String, remote_replica String }>)
//   cleanup_policy    Option<CleanupPolicy>       v >= 3
//   storage           Option<TopicStorageConfig>  v >= 4
//   compression_type  u8                          v >= 6
//   deduplication     Option<Deduplication>       v >= 12
//   system            bool                        v >= 13
//
// TopicStatus:
//   resolution   u8: 0 Init, 1 Pending, 2 InsufficientResources, 3 InvalidConfig, 4 Provisioned, 5 Deleting
//   replica_map  BTreeMap<u32 partition, Vec<i32 spu>>
//   mirror_map   BTreeMap<u32 partition, PartitionMirrorConfig>   v >= 14
//   reason       String
//
// The producer sizes its partitioner from the spec (Computed.partitions or the
// number of Assigned maps), not from the Partition watch.

import { compareNumbers, DecodeError, type Reader, type Writer } from '../../codec.js';
import {
  CompressionAlgorithm,
  decodeCleanupPolicy,
  decodeCompressionAlgorithm,
  decodeDeduplication,
  decodeTopicStorageConfig,
  encodeCleanupPolicy,
  encodeCompressionAlgorithm,
  encodeDeduplication,
  encodeTopicStorageConfig,
  type CleanupPolicy,
  type Deduplication,
  type TopicStorageConfig,
} from './common.js';
import type { ObjectCodec } from './metadata.js';
import {
  decodeHomePartitionConfig,
  decodePartitionMirrorConfig,
  encodeHomePartitionConfig,
  encodePartitionMirrorConfig,
  type HomePartitionConfig,
  type PartitionMirrorConfig,
} from './partition.js';

export interface PartitionMap {
  id: number;
  replicas: number[];
  mirror?: PartitionMirrorConfig;
}

export interface SpuMirrorConfig {
  id: number;
  key: string;
  endpoint: string;
}

export type MirrorConfig =
  | { type: 'Remote'; homeCluster: string; homeSpus: SpuMirrorConfig[] }
  | { type: 'Home'; partitions: HomePartitionConfig[] };

export type ReplicaSpec =
  | { type: 'Assigned'; maps: PartitionMap[] }
  | { type: 'Computed'; partitions: number; replicationFactor: number; ignoreRackAssignment: boolean }
  | { type: 'Mirror'; mirror: MirrorConfig };

export interface TopicSpec {
  replicas: ReplicaSpec;
  cleanupPolicy?: CleanupPolicy;
  storage?: TopicStorageConfig;
  compressionType: number;
  deduplication?: Deduplication;
  system: boolean;
}

export const TopicResolution = {
  Init: 0,
  Pending: 1,
  InsufficientResources: 2,
  InvalidConfig: 3,
  Provisioned: 4,
  Deleting: 5,
} as const;

export interface TopicStatus {
  resolution: number;
  replicaMap: Map<number, number[]>;
  mirrorMap: Map<number, PartitionMirrorConfig>;
  reason: string;
}

/** Partition count the client derives from a spec. */
export function topicPartitionCount(spec: TopicSpec): number {
  const replicas = spec.replicas;
  if (replicas.type === 'Computed') return replicas.partitions;
  if (replicas.type === 'Assigned') return replicas.maps.length;
  return replicas.mirror.type === 'Remote' ? replicas.mirror.homeSpus.length : replicas.mirror.partitions.length;
}

function encodeReplicaSpec(w: Writer, replicas: ReplicaSpec, version: number): void {
  switch (replicas.type) {
    case 'Assigned':
      w.u8(0);
      w.array(replicas.maps, (map) => {
        w.u32(map.id);
        w.array(map.replicas, (id) => w.i32(id));
        if (version >= 14) w.optional(map.mirror, (mirror) => encodePartitionMirrorConfig(w, mirror));
      });
      return;
    case 'Computed':
      w.u8(1);
      w.u32(replicas.partitions);
      w.u32(replicas.replicationFactor);
      w.bool(replicas.ignoreRackAssignment);
      return;
    case 'Mirror': {
      w.u8(2);
      const mirror = replicas.mirror;
      if (mirror.type === 'Remote') {
        w.u8(0);
        w.string(mirror.homeCluster);
        w.array(mirror.homeSpus, (spu) => {
          w.i32(spu.id);
          w.string(spu.key);
          w.string(spu.endpoint);
        });
      } else {
        w.u8(1);
        w.array(mirror.partitions, (partition) => encodeHomePartitionConfig(w, partition));
      }
      return;
    }
  }
}

function decodeReplicaSpec(r: Reader, version: number): ReplicaSpec {
  const tag = r.u8('spec.replicas tag');
  switch (tag) {
    case 0: {
      const maps = r.array(
        (): PartitionMap => {
          const id = r.u32('spec.replicas.Assigned.id');
          const replicas = r.array(() => r.i32('spec.replicas.Assigned.replicas'), 'spec.replicas.Assigned.replicas', 4);
          if (version < 14) return { id, replicas };
          const mirror = r.optional(
            () => decodePartitionMirrorConfig(r, 'spec.replicas.Assigned.mirror'),
            'spec.replicas.Assigned.mirror',
          );
          return mirror === undefined ? { id, replicas } : { id, replicas, mirror };
        },
        'spec.replicas.Assigned',
        8,
      );
      return { type: 'Assigned', maps };
    }
    case 1: {
      const partitions = r.u32('spec.replicas.Computed.partitions');
      const replicationFactor = r.u32('spec.replicas.Computed.replication_factor');
      const ignoreRackAssignment = r.bool('spec.replicas.Computed.ignore_rack_assignment');
      return { type: 'Computed', partitions, replicationFactor, ignoreRackAssignment };
    }
    case 2: {
      const mirrorTag = r.u8('spec.replicas.Mirror tag');
      if (mirrorTag === 0) {
        const homeCluster = r.string('spec.replicas.Mirror.Remote.home_cluster');
        const homeSpus = r.array(
          (): SpuMirrorConfig => {
            const id = r.i32('spec.replicas.Mirror.Remote.home_spus.id');
            const key = r.string('spec.replicas.Mirror.Remote.home_spus.key');
            return { id, key, endpoint: r.string('spec.replicas.Mirror.Remote.home_spus.endpoint') };
          },
          'spec.replicas.Mirror.Remote.home_spus',
          8,
        );
        return { type: 'Mirror', mirror: { type: 'Remote', homeCluster, homeSpus } };
      }
      if (mirrorTag === 1) {
        const partitions = r.array(
          () => decodeHomePartitionConfig(r, 'spec.replicas.Mirror.Home'),
          'spec.replicas.Mirror.Home',
          4,
        );
        return { type: 'Mirror', mirror: { type: 'Home', partitions } };
      }
      throw new DecodeError(`spec.replicas.Mirror: unknown variant tag ${mirrorTag}`);
    }
    default:
      throw new DecodeError(`spec.replicas: unknown ReplicaSpec tag ${tag}`);
  }
}

export function encodeTopicSpec(w: Writer, spec: TopicSpec, version: number): void {
  encodeReplicaSpec(w, spec.replicas, version);
  if (version >= 3) w.optional(spec.cleanupPolicy, (policy) => encodeCleanupPolicy(w, policy));
  if (version >= 4) w.optional(spec.storage, (storage) => encodeTopicStorageConfig(w, storage));
  if (version >= 6) encodeCompressionAlgorithm(w, spec.compressionType);
  if (version >= 12) w.optional(spec.deduplication, (dedup) => encodeDeduplication(w, dedup));
  if (version >= 13) w.bool(spec.system);
}

export function decodeTopicSpec(r: Reader, version: number): TopicSpec {
  const replicas = decodeReplicaSpec(r, version);
  const spec: TopicSpec = { replicas, compressionType: CompressionAlgorithm.Any, system: false };
  if (version >= 3) {
    const cleanupPolicy = r.optional(() => decodeCleanupPolicy(r, 'spec.cleanup_policy'), 'spec.cleanup_policy');
    if (cleanupPolicy !== undefined) spec.cleanupPolicy = cleanupPolicy;
  }
  if (version >= 4) {
    const storage = r.optional(() => decodeTopicStorageConfig(r, 'spec.storage'), 'spec.storage');
    if (storage !== undefined) spec.storage = storage;
  }
  if (version >= 6) spec.compressionType = decodeCompressionAlgorithm(r, 'spec.compression_type');
  if (version >= 12) {
    const deduplication = r.optional(() => decodeDeduplication(r, 'spec.deduplication'), 'spec.deduplication');
    if (deduplication !== undefined) spec.deduplication = deduplication;
  }
  if (version >= 13) spec.system = r.bool('spec.system');
  return spec;
}

export function encodeTopicStatus(w: Writer, status: TopicStatus, version: number): void {
  w.u8(status.resolution);
  w.map(
    status.replicaMap,
    compareNumbers,
    (partition) => w.u32(partition),
    (spus) => w.array(spus, (id) => w.i32(id)),
  );
  if (version >= 14) {
    w.map(
      status.mirrorMap,
      compareNumbers,
      (partition) => w.u32(partition),
      (mirror) => encodePartitionMirrorConfig(w, mirror),
    );
  }
  w.string(status.reason);
}

export function decodeTopicStatus(r: Reader, version: number): TopicStatus {
  const resolution = r.u8('status.resolution');
  if (resolution > TopicResolution.Deleting) throw new DecodeError(`status.resolution: unknown topic resolution ${resolution}`);
  const replicaMap = r.map(
    () => r.u32('status.replica_map key'),
    () => r.array(() => r.i32('status.replica_map spu'), 'status.replica_map value', 4),
    'status.replica_map',
    8,
  );
  const mirrorMap =
    version >= 14
      ? r.map(
          () => r.u32('status.mirror_map key'),
          () => decodePartitionMirrorConfig(r, 'status.mirror_map value'),
          'status.mirror_map',
          5,
        )
      : new Map<number, PartitionMirrorConfig>();
  const reason = r.string('status.reason');
  return { resolution, replicaMap, mirrorMap, reason };
}

export const topicCodec: ObjectCodec<TopicSpec, TopicStatus> = {
  encodeSpec: encodeTopicSpec,
  decodeSpec: decodeTopicSpec,
  encodeStatus: encodeTopicStatus,
  decodeStatus: decodeTopicStatus,
};
