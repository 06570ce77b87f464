// Topic administration on the SC: create, delete, list, describe; partitions
// with their offsets and sizes; SPUs.

import { ErrorCode } from '../protocol/error-code.js';
import type { Status } from '../protocol/messages/status.js';
import type { TopicSpec } from '../protocol/messages/objects/topic.js';
import { CreateApi, DeleteApi } from './apis.js';
import type { Link } from './connection.js';
import { ServerError, TopicNotFoundError } from './errors.js';
import { MetadataClient, topicCompressionCode, type PartitionInfo, type SpuInfo, type TopicCompression, type TopicInfo } from './metadata.js';

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
  /** Validate only. */
  dryRun?: boolean;
}

function checkStatus(status: Status, context: string): void {
  if (status.errorCode.code === ErrorCode.None) return;
  // The server's own message is more precise than the code's text; keep both.
  const error = status.errorMessage ? { ...status.errorCode, message: status.errorCode.message ?? status.errorMessage } : status.errorCode;
  throw new ServerError(error, context);
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
}
