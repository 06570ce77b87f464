// Topic administration on the SC: create, delete, list, describe; partitions
// with their offsets and sizes; SPUs.

import { ErrorCode } from '../protocol/index.js';
import type { Status } from '../protocol/index.js';
import type { TopicSpec } from '../protocol/index.js';
import { gunzipSync, gzipSync } from 'node:zlib';
import { SmartModuleWasmFormat, type SmartModuleSpec } from '../protocol/index.js';
import type { ObjectMetadata } from '../protocol/index.js';
import { CreateApi, DeleteApi, ListApi, NodeInfoApi } from './apis.js';
import type { NodeInfoResponse } from '../protocol/index.js';
import type { Link } from './connection.js';
import { ServerError, TopicNotFoundError } from './errors.js';
import { topicCompressionCode } from '../protocol/index.js';
import { MetadataClient, type PartitionInfo, type SpuInfo, type TopicCompression, type TopicInfo } from './metadata.js';

export interface CreateTopicOptions {
  /** Default 1. */
  partitions?: number;
  /** Default 1 (a single node has one SPU). */
  replicationFactor?: number;
  ignoreRackAssignment?: boolean;
  /** Segment retention in seconds (server default: 7 days; minimum 10 s in Fluvio). */
  retentionSeconds?: number;
  /** Segment size in bytes (server default 1 GiB). */
  segmentSize?: number;
  /** Largest size of a partition in bytes (server default 100 GiB). */
  maxPartitionSize?: number;
  /** Which batch compression the topic accepts; 'any' (the default) takes what producers send. */
  compression?: TopicCompression;
  /** Drop produced records whose key was seen among the last `count` records or within `ageMs` (Fluvio's topic deduplication). */
  deduplication?: TopicDeduplicationOptions;
  /** Validate only. */
  dryRun?: boolean;
}

export interface TopicDeduplicationOptions {
  count: number;
  ageMs?: number;
  /** The filter SmartModule (default Fluvio's, `fluvio/dedup-bloom-filter@0.1.0`, built into Freshet). */
  filter?: string;
  params?: Record<string, string>;
}

/** The deduplication filter `fluvio topic create --dedup` names. */
export const DEFAULT_DEDUP_FILTER = 'fluvio/dedup-bloom-filter@0.1.0';

function checkStatus(status: Status, context: string): void {
  if (status.errorCode.code === ErrorCode.None) return;
  // The server's own message is more precise than the code's text; keep both.
  const error = status.errorMessage ? { ...status.errorCode, message: status.errorCode.message ?? status.errorMessage } : status.errorCode;
  throw new ServerError(error, context);
}

/** A SmartModule registered on the cluster, as listed (without its module bytes). */
export interface SmartModuleInfo {
  name: string;
  /** `group/name@version` of its package, when it was registered with one. */
  packageId?: string;
  /** Size of the (gzipped) module as stored. */
  wasmLength?: number;
}

export class Admin {
  private readonly metadata: MetadataClient;

  constructor(private readonly sc: Link) {
    this.metadata = new MetadataClient(sc);
  }

  async createTopic(name: string, options: CreateTopicOptions = {}): Promise<void> {
    const spec: TopicSpec = {
      replicas: {
        type: 'Computed',
        partitions: options.partitions ?? 1,
        replicationFactor: options.replicationFactor ?? 1,
        ignoreRackAssignment: options.ignoreRackAssignment ?? false,
      },
      compressionType: topicCompressionCode(options.compression ?? 'any'),
      system: false,
    };
    if (options.retentionSeconds !== undefined) spec.cleanupPolicy = { type: 'Segment', timeInSeconds: options.retentionSeconds };
    if (options.segmentSize !== undefined || options.maxPartitionSize !== undefined) {
      spec.storage = {};
      if (options.segmentSize !== undefined) spec.storage.segmentSize = options.segmentSize;
      if (options.maxPartitionSize !== undefined) spec.storage.maxPartitionSize = options.maxPartitionSize;
    }
    const dedup = options.deduplication;
    if (dedup !== undefined) {
      spec.deduplication = {
        bounds: {
          count: dedup.count,
          ...(dedup.ageMs !== undefined ? { age: { seconds: Math.floor(dedup.ageMs / 1000), nanos: (dedup.ageMs % 1000) * 1e6 } } : {}),
        },
        filter: { transform: { uses: dedup.filter ?? DEFAULT_DEDUP_FILTER, with: new Map(Object.entries(dedup.params ?? {})) } },
      };
    }
    const status = await this.sc.send(CreateApi, { kind: 'Topic', name, dryRun: options.dryRun ?? false, spec });
    checkStatus(status, `cannot create topic "${name}"`);
  }

  async deleteTopic(name: string): Promise<void> {
    const status = await this.sc.send(DeleteApi, { kind: 'Topic', key: name, force: false });
    if (status.errorCode.code === ErrorCode.TopicNotFound) {
      const topics = await this.metadata.topics();
      throw new TopicNotFoundError(name, topics.map((topic) => topic.name));
    }
    checkStatus(status, `cannot delete topic "${name}"`);
  }

  /** Every topic, sorted by name. */
  listTopics(): Promise<TopicInfo[]> {
    return this.metadata.topics();
  }

  /** One topic; TopicNotFoundError (listing the topics that exist) when there is none of that name. */
  describeTopic(name: string): Promise<TopicInfo> {
    return this.metadata.topic(name);
  }

  /** Partitions (of one topic, or all) with their leader, offsets and size. */
  listPartitions(topic?: string): Promise<PartitionInfo[]> {
    return this.metadata.partitions(topic);
  }

  listSpus(): Promise<SpuInfo[]> {
    return this.metadata.spus();
  }

  /**
   * Where the node's HTTP API is (connectors, dataflows, users, ACLs), as the
   * node advertises it; FreshetError UNSUPPORTED from a server that does not
   * (a Fluvio SC, or a node without it).
   */
  nodeInfo(): Promise<NodeInfoResponse> {
    return this.sc.send(NodeInfoApi, {}, { idempotent: true });
  }

  /**
   * Registers a SmartModule (as `fluvio smartmodule create NAME --wasm-file F`):
   * the wasm travels gzipped (raw bytes are gzipped here; gzipped bytes are
   * sent as they are). ServerError when the name is taken or invalid, or the
   * bytes are not WebAssembly.
   */
  async createSmartModule(name: string, wasm: Uint8Array, options: { dryRun?: boolean } = {}): Promise<void> {
    const bytes = Buffer.from(wasm.buffer, wasm.byteOffset, wasm.byteLength);
    const payload = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b ? bytes : gzipSync(bytes);
    const spec: SmartModuleSpec = { wasm: { format: SmartModuleWasmFormat.Binary, payload } };
    const status = await this.sc.send(CreateApi, { kind: 'SmartModule', name, dryRun: options.dryRun ?? false, spec });
    checkStatus(status, `cannot create SmartModule "${name}"`);
  }

  /** Deletes a registered SmartModule (ServerError SmartModuleNotFound when there is none of that name). */
  async deleteSmartModule(name: string): Promise<void> {
    const status = await this.sc.send(DeleteApi, { kind: 'SmartModule', key: name, force: false });
    checkStatus(status, `cannot delete SmartModule "${name}"`);
  }

  /** SmartModules registered on the cluster, sorted by name (summaries: no module bytes). */
  async listSmartModules(): Promise<SmartModuleInfo[]> {
    const items = await this.listSmartModuleObjects([], true);
    return items
      .map((item) => {
        const info: SmartModuleInfo = { name: item.name };
        const pkg = item.spec.meta?.package;
        if (pkg) info.packageId = `${pkg.group}/${pkg.name}@${pkg.version}`;
        const length = item.spec.summary?.wasmLength ?? (item.spec.wasm.payload.length || undefined);
        if (length !== undefined) info.wasmLength = length;
        return info;
      })
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * The WebAssembly bytes of a registered SmartModule (ungzipped), or undefined
   * when none has that name. A name without `@version` also finds `name@<version>`
   * (the last one listed), as the SPU resolves it.
   */
  async getSmartModule(name: string): Promise<Uint8Array | undefined> {
    let found = (await this.listSmartModuleObjects([name], false)).find((item) => item.name === name);
    if (!found && !name.includes('@')) {
      const versions = (await this.listSmartModuleObjects([], true)).filter((item) => item.name.startsWith(`${name}@`));
      const last = versions.at(-1);
      if (last) found = (await this.listSmartModuleObjects([last.name], false)).find((item) => item.name === last.name);
    }
    if (!found) return undefined;
    const payload = found.spec.wasm.payload;
    return payload.length >= 2 && payload[0] === 0x1f && payload[1] === 0x8b ? gunzipSync(payload) : payload;
  }

  private async listSmartModuleObjects(names: string[], summary: boolean): Promise<ObjectMetadata<'SmartModule'>[]> {
    const response = await this.sc.send(ListApi, { kind: 'SmartModule', nameFilters: names, summary, system: false }, { idempotent: true });
    if (response.kind !== 'SmartModule') throw new Error(`List SmartModule was answered with ${response.kind === 'Unsupported' ? response.label : response.kind}`);
    return response.items;
  }
}
