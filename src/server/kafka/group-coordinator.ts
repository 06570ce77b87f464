import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { kafka } from '../../protocol/index.js';
import type { GroupOffsetStore } from './group-offsets.js';

const { KafkaError } = kafka;

/**
 * Kafka's classic group protocol, on one node: members join, the coordinator
 * picks a protocol every member offers and a leader, the leader computes the
 * assignment (client-side assignors: range, round-robin, cooperative-sticky)
 * and sends it with SyncGroup, members heartbeat within their session timeout.
 * Any join, leave or expiry starts a rebalance with a new generation.
 *
 *   Empty ──join──▶ PreparingRebalance ──all joined / timeout──▶ CompletingRebalance
 *     ▲                    ▲                                        │ leader's SyncGroup
 *     └── last member gone ┴──── join, leave, session expiry ◀── Stable ◀┘
 */
export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export interface GroupLimits {
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
  /** Wait after the first member joins an empty group, so that members starting together share one rebalance. */
  initialRebalanceDelayMs: number;
  maxMembersPerGroup: number;
  maxGroups: number;
}

export const DEFAULT_GROUP_LIMITS: GroupLimits = {
  minSessionTimeoutMs: 1000,
  maxSessionTimeoutMs: 300_000,
  initialRebalanceDelayMs: 1000,
  maxMembersPerGroup: 1000,
  maxGroups: 10_000,
};

export interface JoinResult {
  errorCode: number;
  generationId: number;
  protocolName: string | null;
  protocolType: string | null;
  leader: string;
  memberId: string;
  members: { memberId: string; groupInstanceId: null; metadata: Buffer }[];
}

interface Member {
  memberId: string;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocols: { name: string; metadata: Buffer }[];
  assignment: Buffer;
  pendingJoin: ((result: JoinResult) => void) | undefined;
  pendingSync: ((result: { errorCode: number; assignment: Buffer }) => void) | undefined;
  sessionTimer: NodeJS.Timeout | undefined;
}

class Group {
  state: GroupState = 'Empty';
  generationId = 0;
  protocolType: string | null = null;
  protocolName: string | null = null;
  leader: string | null = null;
  readonly members = new Map<string, Member>();
  /** Member ids handed out with MEMBER_ID_REQUIRED, not yet joined. */
  readonly pendingMemberIds = new Set<string>();
  rebalanceTimer: NodeJS.Timeout | undefined;
  /** The first join of an empty group waits out the initial delay even when everyone has joined. */
  delayingInitialJoin = false;

  constructor(readonly groupId: string) {}
}

export interface GroupDescription {
  groupId: string;
  state: GroupState;
  generationId: number;
  protocolType: string;
  protocolName: string;
  members: { memberId: string; clientId: string; clientHost: string; metadata: Buffer; assignment: Buffer }[];
}

/** Events for diagnostics and tests: every completed generation, with its assignment. */
export interface CoordinatorEvents {
  stable: [groupId: string, generationId: number, assignments: Map<string, Buffer>];
}

export class GroupCoordinator extends EventEmitter<CoordinatorEvents> {
  private readonly groups = new Map<string, Group>();
  private closed = false;

  constructor(
    readonly offsets: GroupOffsetStore,
    private readonly limits: GroupLimits,
    private readonly log: Logger,
  ) {
    super();
  }

  private group(groupId: string, create: boolean): Group | undefined {
    let group = this.groups.get(groupId);
    if (!group && create && this.groups.size < this.limits.maxGroups) {
      group = new Group(groupId);
      this.groups.set(groupId, group);
    }
    return group;
  }

  join(request: {
    groupId: string;
    memberId: string;
    clientId: string;
    clientHost: string;
    sessionTimeoutMs: number;
    rebalanceTimeoutMs: number;
    protocolType: string;
    protocols: { name: string; metadata: Buffer }[];
    requireKnownMemberId: boolean;
  }): Promise<JoinResult> {
    const fail = (errorCode: number, memberId = request.memberId): Promise<JoinResult> =>
      Promise.resolve({ errorCode, generationId: -1, protocolName: null, protocolType: null, leader: '', memberId, members: [] });
    if (this.closed) return fail(KafkaError.CoordinatorNotAvailable);
    if (request.groupId === '') return fail(KafkaError.InvalidGroupId);
    if (request.sessionTimeoutMs < this.limits.minSessionTimeoutMs || request.sessionTimeoutMs > this.limits.maxSessionTimeoutMs) {
      return fail(KafkaError.InvalidSessionTimeout);
    }
    const group = this.group(request.groupId, true);
    if (!group) return fail(KafkaError.CoordinatorNotAvailable);
    if (request.protocols.length === 0 || (group.members.size > 0 && group.protocolType !== request.protocolType)) {
      return fail(KafkaError.InconsistentGroupProtocol);
    }
    let memberId = request.memberId;
    if (memberId === '') {
      memberId = `${request.clientId || 'member'}-${randomUUID()}`;
      if (request.requireKnownMemberId) {
        group.pendingMemberIds.add(memberId);
        return fail(KafkaError.MemberIdRequired, memberId);
      }
    } else if (!group.members.has(memberId) && !group.pendingMemberIds.delete(memberId)) {
      return fail(KafkaError.UnknownMemberId);
    }
    let member = group.members.get(memberId);
    if (!member) {
      if (group.members.size >= this.limits.maxMembersPerGroup) return fail(KafkaError.CoordinatorNotAvailable, memberId);
      const names = new Set(request.protocols.map((p) => p.name));
      const common = this.commonProtocols(group);
      if (group.members.size > 0 && ![...common].some((name) => names.has(name))) return fail(KafkaError.InconsistentGroupProtocol, memberId);
      member = {
        memberId,
        clientId: request.clientId,
        clientHost: request.clientHost,
        sessionTimeoutMs: request.sessionTimeoutMs,
        rebalanceTimeoutMs: request.rebalanceTimeoutMs,
        protocols: request.protocols,
        assignment: Buffer.alloc(0),
        pendingJoin: undefined,
        pendingSync: undefined,
        sessionTimer: undefined,
      };
      group.members.set(memberId, member);
      group.protocolType = request.protocolType;
      this.log.info({ group: group.groupId, member: memberId }, 'member joins the group');
    } else {
      member.protocols = request.protocols;
      member.sessionTimeoutMs = request.sessionTimeoutMs;
      member.rebalanceTimeoutMs = request.rebalanceTimeoutMs;
    }
    const joined = member;
    // A pending join of the same member (a retry) is superseded.
    joined.pendingJoin?.({ errorCode: KafkaError.RebalanceInProgress, generationId: -1, protocolName: null, protocolType: null, leader: '', memberId, members: [] });
    const result = new Promise<JoinResult>((resolve) => {
      joined.pendingJoin = resolve;
    });
    clearTimeout(joined.sessionTimer);
    joined.sessionTimer = undefined;
    if (group.state !== 'PreparingRebalance') this.prepareRebalance(group, group.state === 'Empty');
    else this.maybeCompleteJoin(group);
    return result;
  }

  sync(groupId: string, generationId: number, memberId: string, assignments: { memberId: string; assignment: Buffer }[]): Promise<{ errorCode: number; assignment: Buffer }> {
    const group = this.groups.get(groupId);
    const member = group?.members.get(memberId);
    const fail = (errorCode: number) => Promise.resolve({ errorCode, assignment: Buffer.alloc(0) });
    if (!group || !member) return fail(KafkaError.UnknownMemberId);
    if (generationId !== group.generationId) return fail(KafkaError.IllegalGeneration);
    this.touch(group, member);
    if (group.state === 'Stable') return Promise.resolve({ errorCode: KafkaError.None, assignment: member.assignment });
    if (group.state !== 'CompletingRebalance') return fail(KafkaError.RebalanceInProgress);
    const result = new Promise<{ errorCode: number; assignment: Buffer }>((resolve) => {
      member.pendingSync = resolve;
    });
    if (memberId === group.leader) {
      const given = new Map(assignments.map((entry) => [entry.memberId, entry.assignment]));
      for (const each of group.members.values()) each.assignment = given.get(each.memberId) ?? Buffer.alloc(0);
      group.state = 'Stable';
      this.log.info({ group: groupId, generation: group.generationId, members: group.members.size }, 'group is stable');
      for (const each of group.members.values()) {
        each.pendingSync?.({ errorCode: KafkaError.None, assignment: each.assignment });
        each.pendingSync = undefined;
      }
      this.emit('stable', groupId, group.generationId, new Map([...group.members.values()].map((each) => [each.memberId, each.assignment])));
    }
    return result;
  }

  heartbeat(groupId: string, generationId: number, memberId: string): number {
    const group = this.groups.get(groupId);
    const member = group?.members.get(memberId);
    if (!group || !member) return KafkaError.UnknownMemberId;
    if (generationId !== group.generationId) return KafkaError.IllegalGeneration;
    this.touch(group, member);
    return group.state === 'PreparingRebalance' ? KafkaError.RebalanceInProgress : KafkaError.None;
  }

  leave(groupId: string, memberIds: string[]): number[] {
    const group = this.groups.get(groupId);
    if (!group) return memberIds.map(() => KafkaError.UnknownMemberId);
    const codes = memberIds.map((memberId) => {
      const member = group.members.get(memberId);
      if (!member) return KafkaError.UnknownMemberId;
      this.log.info({ group: groupId, member: memberId }, 'member leaves the group');
      this.remove(group, member);
      return KafkaError.None;
    });
    if (codes.includes(KafkaError.None)) this.afterRemoval(group);
    return codes;
  }

  /**
   * Whether a commit may be stored: a member of the current generation (not
   * while the assignment is being handed out), or a commit outside any
   * generation (-1) for a group without members.
   */
  checkCommit(groupId: string, generationId: number, memberId: string): number {
    const group = this.groups.get(groupId);
    if (generationId < 0 && memberId === '') {
      return group && group.members.size > 0 ? KafkaError.UnknownMemberId : KafkaError.None;
    }
    const member = group?.members.get(memberId);
    if (!group || !member) return KafkaError.UnknownMemberId;
    if (generationId !== group.generationId) return KafkaError.IllegalGeneration;
    if (group.state === 'CompletingRebalance') return KafkaError.RebalanceInProgress;
    this.touch(group, member);
    return KafkaError.None;
  }

  describe(groupId: string): GroupDescription {
    const group = this.groups.get(groupId);
    if (!group) {
      const known = this.offsets.groups().includes(groupId);
      return { groupId, state: known ? 'Empty' : 'Dead', generationId: 0, protocolType: known ? 'consumer' : '', protocolName: '', members: [] };
    }
    return {
      groupId,
      state: group.state,
      generationId: group.generationId,
      protocolType: group.protocolType ?? '',
      protocolName: group.state === 'Stable' || group.state === 'CompletingRebalance' ? (group.protocolName ?? '') : '',
      members: [...group.members.values()].map((member) => ({
        memberId: member.memberId,
        clientId: member.clientId,
        clientHost: member.clientHost,
        metadata: member.protocols.find((p) => p.name === group.protocolName)?.metadata ?? Buffer.alloc(0),
        assignment: group.state === 'Stable' ? member.assignment : Buffer.alloc(0),
      })),
    };
  }

  /** Groups with members or with committed offsets. */
  list(): { groupId: string; protocolType: string; state: GroupState }[] {
    const ids = new Set([...this.groups.keys(), ...this.offsets.groups()]);
    return [...ids].sort().map((groupId) => {
      const description = this.describe(groupId);
      return { groupId, protocolType: description.protocolType || 'consumer', state: description.state };
    });
  }

  close(): void {
    this.closed = true;
    for (const group of this.groups.values()) {
      clearTimeout(group.rebalanceTimer);
      for (const member of group.members.values()) {
        clearTimeout(member.sessionTimer);
        member.pendingJoin?.({ errorCode: KafkaError.CoordinatorNotAvailable, generationId: -1, protocolName: null, protocolType: null, leader: '', memberId: member.memberId, members: [] });
        member.pendingSync?.({ errorCode: KafkaError.CoordinatorNotAvailable, assignment: Buffer.alloc(0) });
      }
    }
    this.groups.clear();
  }

  // --- rebalancing ---------------------------------------------------------------

  private commonProtocols(group: Group): Set<string> {
    let common: Set<string> | undefined;
    for (const member of group.members.values()) {
      const names = new Set(member.protocols.map((p) => p.name));
      common = common ? new Set([...common].filter((name) => names.has(name))) : names;
    }
    return common ?? new Set();
  }

  private prepareRebalance(group: Group, initial: boolean): void {
    group.state = 'PreparingRebalance';
    group.delayingInitialJoin = initial;
    clearTimeout(group.rebalanceTimer);
    for (const member of group.members.values()) {
      member.pendingSync?.({ errorCode: KafkaError.RebalanceInProgress, assignment: Buffer.alloc(0) });
      member.pendingSync = undefined;
    }
    const rebalanceTimeout = Math.max(0, ...[...group.members.values()].map((m) => m.rebalanceTimeoutMs));
    const wait = initial ? this.limits.initialRebalanceDelayMs : rebalanceTimeout;
    group.rebalanceTimer = setTimeout(() => this.completeJoin(group, true), wait);
    this.log.info({ group: group.groupId, members: group.members.size }, 'group rebalances');
    if (!initial) this.maybeCompleteJoin(group);
  }

  /** The join phase ends as soon as every member has rejoined (outside the initial delay). */
  private maybeCompleteJoin(group: Group): void {
    if (group.state !== 'PreparingRebalance' || group.delayingInitialJoin) return;
    for (const member of group.members.values()) if (!member.pendingJoin) return;
    this.completeJoin(group, false);
  }

  private completeJoin(group: Group, timedOut: boolean): void {
    if (group.state !== 'PreparingRebalance') return;
    clearTimeout(group.rebalanceTimer);
    if (timedOut) {
      for (const member of [...group.members.values()]) {
        if (!member.pendingJoin) {
          this.log.info({ group: group.groupId, member: member.memberId }, 'member did not rejoin in time; removed');
          this.remove(group, member);
        }
      }
    }
    if (group.members.size === 0) {
      group.state = 'Empty';
      group.generationId++;
      group.leader = null;
      group.protocolName = null;
      return;
    }
    group.generationId++;
    group.protocolName = this.chooseProtocol(group);
    if (!group.leader || !group.members.has(group.leader)) group.leader = group.members.keys().next().value as string;
    group.state = 'CompletingRebalance';
    const members = [...group.members.values()].map((member) => ({
      memberId: member.memberId,
      groupInstanceId: null,
      metadata: member.protocols.find((p) => p.name === group.protocolName)?.metadata ?? Buffer.alloc(0),
    }));
    for (const member of group.members.values()) {
      const resolve = member.pendingJoin;
      member.pendingJoin = undefined;
      this.touch(group, member);
      resolve?.({
        errorCode: KafkaError.None,
        generationId: group.generationId,
        protocolName: group.protocolName,
        protocolType: group.protocolType,
        leader: group.leader,
        memberId: member.memberId,
        members: member.memberId === group.leader ? members : [],
      });
    }
  }

  /** Each member votes for the first of its protocols that every member offers; the most votes win. */
  private chooseProtocol(group: Group): string {
    const common = this.commonProtocols(group);
    const votes = new Map<string, number>();
    for (const member of group.members.values()) {
      const choice = member.protocols.find((p) => common.has(p.name));
      if (choice) votes.set(choice.name, (votes.get(choice.name) ?? 0) + 1);
    }
    let best = '';
    let most = -1;
    for (const [name, count] of votes) if (count > most) [best, most] = [name, count];
    return best;
  }

  /** Restarts a member's session timer: it expires unless the member is heard from again in time. */
  private touch(group: Group, member: Member): void {
    clearTimeout(member.sessionTimer);
    member.sessionTimer = setTimeout(() => {
      if (group.members.get(member.memberId) !== member || member.pendingJoin) return;
      this.log.info({ group: group.groupId, member: member.memberId }, 'member session expired');
      this.remove(group, member);
      this.afterRemoval(group);
    }, member.sessionTimeoutMs);
  }

  private remove(group: Group, member: Member): void {
    clearTimeout(member.sessionTimer);
    group.members.delete(member.memberId);
    member.pendingJoin?.({ errorCode: KafkaError.UnknownMemberId, generationId: -1, protocolName: null, protocolType: null, leader: '', memberId: member.memberId, members: [] });
    member.pendingSync?.({ errorCode: KafkaError.UnknownMemberId, assignment: Buffer.alloc(0) });
    member.pendingJoin = undefined;
    member.pendingSync = undefined;
  }

  private afterRemoval(group: Group): void {
    if (group.state === 'PreparingRebalance') {
      this.maybeCompleteJoin(group);
      return;
    }
    if (group.members.size === 0) {
      clearTimeout(group.rebalanceTimer);
      group.state = 'Empty';
      group.generationId++;
      group.leader = null;
      return;
    }
    this.prepareRebalance(group, false);
  }
}
