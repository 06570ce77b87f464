import { kafka } from '../../protocol/index.js';
import type { KafkaContext } from './context.js';
import type { KafkaHandler, KafkaRequestContext } from './listener.js';

const { KafkaError } = kafka;
type DescribeGroupsRequestData = kafka.DescribeGroupsRequestData;
type FindCoordinatorRequestData = kafka.FindCoordinatorRequestData;
type HeartbeatRequestData = kafka.HeartbeatRequestData;
type JoinGroupRequestData = kafka.JoinGroupRequestData;
type LeaveGroupRequestData = kafka.LeaveGroupRequestData;
type ListGroupsRequestData = kafka.ListGroupsRequestData;
type OffsetCommitRequestData = kafka.OffsetCommitRequestData;
type OffsetFetchRequestData = kafka.OffsetFetchRequestData;
type SyncGroupRequestData = kafka.SyncGroupRequestData;

/** Join v4+ hands out the member id first and expects it back (KIP-394). */
const MEMBER_ID_REQUIRED_SINCE = 4;
const TRANSACTION_KEY = 1;

/** FindCoordinator (10): this node coordinates every group; transactions have no coordinator here. */
export function findCoordinatorHandler(ctx: KafkaContext): KafkaHandler {
  return (request, { header }) => {
    const { key, keyType, coordinatorKeys } = request as FindCoordinatorRequestData;
    const { nodeId, host, port } = ctx.broker;
    const answer = (forKey: string) =>
      keyType === TRANSACTION_KEY
        ? { key: forKey, nodeId: -1, host: '', port: -1, errorCode: KafkaError.CoordinatorNotAvailable, errorMessage: 'transactions are not supported' }
        : { key: forKey, nodeId, host, port, errorCode: KafkaError.None, errorMessage: null };
    if (header.apiVersion >= 4) return { coordinators: coordinatorKeys.map(answer) };
    return answer(key);
  };
}

export function joinGroupHandler(ctx: KafkaContext): KafkaHandler {
  return async (request, { header, peerHost }) => {
    const join = request as JoinGroupRequestData;
    if (join.groupInstanceId !== null) {
      return { errorCode: KafkaError.InvalidRequest, generationId: -1, protocolName: null, leader: '', memberId: join.memberId, members: [] };
    }
    const result = await ctx.groups.join({
      groupId: join.groupId,
      memberId: join.memberId,
      clientId: header.clientId ?? '',
      clientHost: `/${peerHost}`,
      sessionTimeoutMs: join.sessionTimeoutMs,
      rebalanceTimeoutMs: join.rebalanceTimeoutMs < 0 ? join.sessionTimeoutMs : join.rebalanceTimeoutMs,
      protocolType: join.protocolType,
      protocols: join.protocols,
      requireKnownMemberId: header.apiVersion >= MEMBER_ID_REQUIRED_SINCE,
    });
    // v0-v6 have no null protocol name.
    return header.apiVersion < 7 && result.protocolName === null ? { ...result, protocolName: '' } : result;
  };
}

export function syncGroupHandler(ctx: KafkaContext): KafkaHandler {
  return async (request) => {
    const sync = request as SyncGroupRequestData;
    const result = await ctx.groups.sync(sync.groupId, sync.generationId, sync.memberId, sync.assignments);
    const description = ctx.groups.describe(sync.groupId);
    return { ...result, protocolType: description.protocolType || null, protocolName: description.protocolName || null };
  };
}

export function heartbeatHandler(ctx: KafkaContext): KafkaHandler {
  return (request) => {
    const { groupId, generationId, memberId } = request as HeartbeatRequestData;
    return { errorCode: ctx.groups.heartbeat(groupId, generationId, memberId) };
  };
}

export function leaveGroupHandler(ctx: KafkaContext): KafkaHandler {
  return (request, { header }) => {
    const leave = request as LeaveGroupRequestData;
    if (header.apiVersion < 3) return { errorCode: ctx.groups.leave(leave.groupId, [leave.memberId])[0] };
    const codes = ctx.groups.leave(leave.groupId, leave.members.map((m) => m.memberId));
    return {
      errorCode: KafkaError.None,
      members: leave.members.map((m, i) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, errorCode: codes[i] })),
    };
  };
}

/** OffsetCommit (8): stored durably before the answer; refused for a stale member or generation. */
export function offsetCommitHandler(ctx: KafkaContext): KafkaHandler {
  return async (request) => {
    const commit = request as OffsetCommitRequestData;
    const allowed = ctx.groups.checkCommit(commit.groupId, commit.generationId, commit.memberId);
    const entries: Parameters<typeof ctx.groups.offsets.commit>[1] = [];
    const topics = commit.topics.map((topic) => ({
      name: topic.name,
      partitions: topic.partitions.map((partition) => {
        let errorCode: number = allowed;
        if (errorCode === KafkaError.None && !ctx.replicas.get(topic.name, partition.partitionIndex)) errorCode = KafkaError.UnknownTopicOrPartition;
        if (errorCode === KafkaError.None) {
          entries.push({
            topic: topic.name,
            partition: partition.partitionIndex,
            committed: { offset: partition.committedOffset, leaderEpoch: partition.committedLeaderEpoch, metadata: partition.committedMetadata },
          });
        }
        return { partitionIndex: partition.partitionIndex, errorCode };
      }),
    }));
    if (entries.length > 0) await ctx.groups.offsets.commit(commit.groupId, entries);
    return { topics };
  };
}

function fetchGroupOffsets(ctx: KafkaContext, groupId: string, topics: { name: string; partitionIndexes: number[] }[] | null) {
  const wanted =
    topics ??
    [...ctx.groups.offsets.all(groupId)].map(([name, partitions]) => ({ name, partitionIndexes: [...partitions.keys()] }));
  return wanted.map((topic) => ({
    name: topic.name,
    partitions: topic.partitionIndexes.map((partitionIndex) => {
      const committed = ctx.groups.offsets.get(groupId, topic.name, partitionIndex);
      return {
        partitionIndex,
        committedOffset: committed?.offset ?? -1,
        committedLeaderEpoch: committed?.leaderEpoch ?? -1,
        metadata: committed?.metadata ?? '',
        errorCode: KafkaError.None,
      };
    }),
  }));
}

export function offsetFetchHandler(ctx: KafkaContext): KafkaHandler {
  return (request, { header }: KafkaRequestContext) => {
    const fetch = request as OffsetFetchRequestData;
    if (header.apiVersion >= 8) {
      return {
        groups: fetch.groups.map((group) => ({ groupId: group.groupId, topics: fetchGroupOffsets(ctx, group.groupId, group.topics), errorCode: KafkaError.None })),
      };
    }
    return { topics: fetchGroupOffsets(ctx, fetch.groupId, fetch.topics), errorCode: KafkaError.None };
  };
}

export function describeGroupsHandler(ctx: KafkaContext): KafkaHandler {
  return (request) => {
    const { groups } = request as DescribeGroupsRequestData;
    return {
      groups: groups.map((groupId) => {
        const description = ctx.groups.describe(groupId);
        return {
          errorCode: KafkaError.None,
          groupId,
          groupState: description.state,
          protocolType: description.protocolType,
          protocolData: description.protocolName,
          members: description.members.map((member) => ({
            memberId: member.memberId,
            groupInstanceId: null,
            clientId: member.clientId,
            clientHost: member.clientHost,
            memberMetadata: member.metadata,
            memberAssignment: member.assignment,
          })),
        };
      }),
    };
  };
}

export function listGroupsHandler(ctx: KafkaContext): KafkaHandler {
  return (request) => {
    const { statesFilter, typesFilter } = request as ListGroupsRequestData;
    const states = new Set(statesFilter.map((state) => state.toLowerCase()));
    const groups = ctx.groups
      .list()
      .filter((group) => states.size === 0 || states.has(group.state.toLowerCase()))
      .filter(() => typesFilter.length === 0 || typesFilter.some((type) => type.toLowerCase() === 'classic'))
      .map((group) => ({ groupId: group.groupId, protocolType: group.protocolType, groupState: group.state, groupType: 'classic' }));
    return { errorCode: KafkaError.None, groups };
  };
}
