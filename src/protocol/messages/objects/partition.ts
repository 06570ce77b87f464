// Partition objects (store key "<topic>-<partition>").
//
// PartitionSpec:
//   leader           i32 (SPU id)
//   replicas         Vec<i32>
//   cleanup_policy   Option<CleanupPolicy>        v >= 4
//   storage          Option<TopicStorageConfig>   v >= 4
//   compression_type u8                           v >= 6
//   deduplication    Option<Deduplication>        v >= 12
//   system           bool                         v >= 13
//   mirror           Option<PartitionMirrorConfig> v >= 14
//
// PartitionMirrorConfig: enum u8
//   0 Remote { home_cluster String, home_spu_key String, home_spu_id i32, home_spu_endpoint String }
//   1 Home   { remote_cluster String, remote_replica String }
//
// PartitionStatus:
//   resolution        u8: 0 Offline, 1 Online, 2 LeaderOffline, 3 ElectionLeaderFound
//   leader            ReplicaStatus { spu i32, hw i64, leo i64 }
//   lsr               u32
//   replicas          Vec<ReplicaStatus>
//   size              i64   v >= 5  (-1 = not supported)
//   is_being_deleted  bool
//   base_offset       i64   v >= 16
//
// The client routes by spec.leader only; the status is informational.

import { DecodeError, type Reader, type Writer } from '../../codec.js';
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

export type RemotePartitionConfig = {
  homeCluster: string;
  homeSpuKey: string;
  homeSpuId: number;
  homeSpuEndpoint: string;
};

export type HomePartitionConfig = { remoteCluster: string; remoteReplica: string };

export type PartitionMirrorConfig = ({ type: 'Remote' } & RemotePartitionConfig) | ({ type: 'Home' } & HomePartitionConfig);

export interface PartitionSpec {
  leader: number;
  replicas: number[];
  cleanupPolicy?: CleanupPolicy;
  storage?: TopicStorageConfig;
  compressionType: number;
  deduplication?: Deduplication;
  system: boolean;
  mirror?: PartitionMirrorConfig;
}

export const PartitionResolution = {
  Offline: 0,
  Online: 1,
  LeaderOffline: 2,
  ElectionLeaderFound: 3,
} as const;

export interface ReplicaStatus {
  spu: number;
  hw: number;
  leo: number;
}

export interface PartitionStatus {
  resolution: number;
  leader: ReplicaStatus;
  lsr: number;
  replicas: ReplicaStatus[];
  /** -1 when not supported. */
  size: number;
  isBeingDeleted: boolean;
  baseOffset: number;
}

export const PARTITION_SIZE_NOT_SUPPORTED = -1;

export function encodeHomePartitionConfig(w: Writer, config: HomePartitionConfig): void {
  w.string(config.remoteCluster);
  w.string(config.remoteReplica);
}

export function decodeHomePartitionConfig(r: Reader, field: string): HomePartitionConfig {
  const remoteCluster = r.string(`${field}.remote_cluster`);
  return { remoteCluster, remoteReplica: r.string(`${field}.remote_replica`) };
}

export function encodePartitionMirrorConfig(w: Writer, config: PartitionMirrorConfig): void {
  if (config.type === 'Remote') {
    w.u8(0);
    w.string(config.homeCluster);
    w.string(config.homeSpuKey);
    w.i32(config.homeSpuId);
    w.string(config.homeSpuEndpoint);
  } else {
    w.u8(1);
    encodeHomePartitionConfig(w, config);
  }
}

export function decodePartitionMirrorConfig(r: Reader, field = 'mirror'): PartitionMirrorConfig {
  const tag = r.u8(`${field} tag`);
  if (tag === 0) {
    const homeCluster = r.string(`${field}.Remote.home_cluster`);
    const homeSpuKey = r.string(`${field}.Remote.home_spu_key`);
    const homeSpuId = r.i32(`${field}.Remote.home_spu_id`);
    const homeSpuEndpoint = r.string(`${field}.Remote.home_spu_endpoint`);
    return { type: 'Remote', homeCluster, homeSpuKey, homeSpuId, homeSpuEndpoint };
  }
  if (tag === 1) return { type: 'Home', ...decodeHomePartitionConfig(r, `${field}.Home`) };
  throw new DecodeError(`${field}: unknown variant tag ${tag}`);
}

export function encodePartitionSpec(w: Writer, spec: PartitionSpec, version: number): void {
  w.i32(spec.leader);
  w.array(spec.replicas, (id) => w.i32(id));
  if (version >= 4) {
    w.optional(spec.cleanupPolicy, (policy) => encodeCleanupPolicy(w, policy));
    w.optional(spec.storage, (storage) => encodeTopicStorageConfig(w, storage));
  }
  if (version >= 6) encodeCompressionAlgorithm(w, spec.compressionType);
  if (version >= 12) w.optional(spec.deduplication, (dedup) => encodeDeduplication(w, dedup));
  if (version >= 13) w.bool(spec.system);
  if (version >= 14) w.optional(spec.mirror, (mirror) => encodePartitionMirrorConfig(w, mirror));
}

export function decodePartitionSpec(r: Reader, version: number): PartitionSpec {
  const leader = r.i32('spec.leader');
  const replicas = r.array(() => r.i32('spec.replicas'), 'spec.replicas', 4);
  const spec: PartitionSpec = { leader, replicas, compressionType: CompressionAlgorithm.Any, system: false };
  if (version >= 4) {
    const cleanupPolicy = r.optional(() => decodeCleanupPolicy(r, 'spec.cleanup_policy'), 'spec.cleanup_policy');
    if (cleanupPolicy !== undefined) spec.cleanupPolicy = cleanupPolicy;
    const storage = r.optional(() => decodeTopicStorageConfig(r, 'spec.storage'), 'spec.storage');
    if (storage !== undefined) spec.storage = storage;
  }
  if (version >= 6) spec.compressionType = decodeCompressionAlgorithm(r, 'spec.compression_type');
  if (version >= 12) {
    const deduplication = r.optional(() => decodeDeduplication(r, 'spec.deduplication'), 'spec.deduplication');
    if (deduplication !== undefined) spec.deduplication = deduplication;
  }
  if (version >= 13) spec.system = r.bool('spec.system');
  if (version >= 14) {
    const mirror = r.optional(() => decodePartitionMirrorConfig(r, 'spec.mirror'), 'spec.mirror');
    if (mirror !== undefined) spec.mirror = mirror;
  }
  return spec;
}

export function encodeReplicaStatus(w: Writer, status: ReplicaStatus): void {
  w.i32(status.spu);
  w.i64(status.hw);
  w.i64(status.leo);
}

export function decodeReplicaStatus(r: Reader, field: string): ReplicaStatus {
  const spu = r.i32(`${field}.spu`);
  const hw = r.i64(`${field}.hw`);
  return { spu, hw, leo: r.i64(`${field}.leo`) };
}

export function encodePartitionStatus(w: Writer, status: PartitionStatus, version: number): void {
  w.u8(status.resolution);
  encodeReplicaStatus(w, status.leader);
  w.u32(status.lsr);
  w.array(status.replicas, (replica) => encodeReplicaStatus(w, replica));
  if (version >= 5) w.i64(status.size);
  w.bool(status.isBeingDeleted);
  if (version >= 16) w.i64(status.baseOffset);
}

export function decodePartitionStatus(r: Reader, version: number): PartitionStatus {
  const resolution = r.u8('status.resolution');
  if (resolution > PartitionResolution.ElectionLeaderFound) {
    throw new DecodeError(`status.resolution: unknown partition resolution ${resolution}`);
  }
  const leader = decodeReplicaStatus(r, 'status.leader');
  const lsr = r.u32('status.lsr');
  const replicas = r.array(() => decodeReplicaStatus(r, 'status.replicas'), 'status.replicas', 20);
  const size = version >= 5 ? r.i64('status.size') : PARTITION_SIZE_NOT_SUPPORTED;
  const isBeingDeleted = r.bool('status.is_being_deleted');
  const baseOffset = version >= 16 ? r.i64('status.base_offset') : 0;
  return { resolution, leader, lsr, replicas, size, isBeingDeleted, baseOffset };
}

export const partitionCodec: ObjectCodec<PartitionSpec, PartitionStatus> = {
  encodeSpec: encodePartitionSpec,
  decodeSpec: decodePartitionSpec,
  encodeStatus: encodePartitionStatus,
  decodeStatus: decodePartitionStatus,
};
