// The Kafka APIs this listener serves, with the versions it accepts and the
// message schemas for each. ApiVersions advertises exactly this table.

import type { MessageSchema } from './schema.js';
import { ApiVersionsRequest, ApiVersionsResponse } from './messages/api-versions.js';
import { CreateTopicsRequest, CreateTopicsResponse } from './messages/create-topics.js';
import { DeleteTopicsRequest, DeleteTopicsResponse } from './messages/delete-topics.js';
import { DescribeGroupsRequest, DescribeGroupsResponse } from './messages/describe-groups.js';
import { FetchRequest, FetchResponse } from './messages/fetch.js';
import { FindCoordinatorRequest, FindCoordinatorResponse } from './messages/find-coordinator.js';
import { HeartbeatRequest, HeartbeatResponse } from './messages/heartbeat.js';
import { InitProducerIdRequest, InitProducerIdResponse } from './messages/init-producer-id.js';
import { JoinGroupRequest, JoinGroupResponse } from './messages/join-group.js';
import { LeaveGroupRequest, LeaveGroupResponse } from './messages/leave-group.js';
import { ListGroupsRequest, ListGroupsResponse } from './messages/list-groups.js';
import { ListOffsetsRequest, ListOffsetsResponse } from './messages/list-offsets.js';
import { MetadataRequest, MetadataResponse } from './messages/metadata.js';
import { OffsetCommitRequest, OffsetCommitResponse } from './messages/offset-commit.js';
import { OffsetFetchRequest, OffsetFetchResponse } from './messages/offset-fetch.js';
import { ProduceRequest, ProduceResponse } from './messages/produce.js';
import { SyncGroupRequest, SyncGroupResponse } from './messages/sync-group.js';

export const KafkaApiKey = {
  Produce: 0,
  Fetch: 1,
  ListOffsets: 2,
  Metadata: 3,
  OffsetCommit: 8,
  OffsetFetch: 9,
  FindCoordinator: 10,
  JoinGroup: 11,
  Heartbeat: 12,
  LeaveGroup: 13,
  SyncGroup: 14,
  DescribeGroups: 15,
  ListGroups: 16,
  ApiVersions: 18,
  CreateTopics: 19,
  DeleteTopics: 20,
  InitProducerId: 22,
} as const;

export interface KafkaApi {
  apiKey: number;
  name: string;
  minVersion: number;
  maxVersion: number;
  request: MessageSchema;
  response: MessageSchema;
}

function api(apiKey: number, name: string, minVersion: number, maxVersion: number, request: MessageSchema, response: MessageSchema): KafkaApi {
  return { apiKey, name, minVersion, maxVersion, request, response };
}

export const KAFKA_APIS: readonly KafkaApi[] = [
  api(KafkaApiKey.Produce, 'Produce', 3, 9, ProduceRequest, ProduceResponse),
  api(KafkaApiKey.Fetch, 'Fetch', 4, 13, FetchRequest, FetchResponse),
  api(KafkaApiKey.ListOffsets, 'ListOffsets', 1, 7, ListOffsetsRequest, ListOffsetsResponse),
  api(KafkaApiKey.Metadata, 'Metadata', 1, 12, MetadataRequest, MetadataResponse),
  api(KafkaApiKey.OffsetCommit, 'OffsetCommit', 2, 8, OffsetCommitRequest, OffsetCommitResponse),
  api(KafkaApiKey.OffsetFetch, 'OffsetFetch', 1, 8, OffsetFetchRequest, OffsetFetchResponse),
  api(KafkaApiKey.FindCoordinator, 'FindCoordinator', 0, 4, FindCoordinatorRequest, FindCoordinatorResponse),
  api(KafkaApiKey.JoinGroup, 'JoinGroup', 0, 9, JoinGroupRequest, JoinGroupResponse),
  api(KafkaApiKey.Heartbeat, 'Heartbeat', 0, 4, HeartbeatRequest, HeartbeatResponse),
  api(KafkaApiKey.LeaveGroup, 'LeaveGroup', 0, 5, LeaveGroupRequest, LeaveGroupResponse),
  api(KafkaApiKey.SyncGroup, 'SyncGroup', 0, 5, SyncGroupRequest, SyncGroupResponse),
  api(KafkaApiKey.DescribeGroups, 'DescribeGroups', 0, 5, DescribeGroupsRequest, DescribeGroupsResponse),
  api(KafkaApiKey.ListGroups, 'ListGroups', 0, 5, ListGroupsRequest, ListGroupsResponse),
  api(KafkaApiKey.ApiVersions, 'ApiVersions', 0, 3, ApiVersionsRequest, ApiVersionsResponse),
  api(KafkaApiKey.CreateTopics, 'CreateTopics', 0, 7, CreateTopicsRequest, CreateTopicsResponse),
  api(KafkaApiKey.DeleteTopics, 'DeleteTopics', 0, 6, DeleteTopicsRequest, DeleteTopicsResponse),
  api(KafkaApiKey.InitProducerId, 'InitProducerId', 0, 5, InitProducerIdRequest, InitProducerIdResponse),
];

const byKey = new Map(KAFKA_APIS.map((entry) => [entry.apiKey, entry]));

export function kafkaApi(apiKey: number): KafkaApi | undefined {
  return byKey.get(apiKey);
}

/** Whether a request at this version uses request header v2 (and its response header v1). */
export function isFlexible(entry: KafkaApi, version: number): boolean {
  return version >= entry.request.flexibleSince;
}

/** ApiVersions responses keep header v0 in every version (KIP-511). */
export function responseHeaderIsFlexible(entry: KafkaApi, version: number): boolean {
  return entry.apiKey !== KafkaApiKey.ApiVersions && isFlexible(entry, version);
}
