// The node's one authorization check, used by every API of every protocol:
// the ACL rules of the policy file (read-only) and of the data dir (managed
// with `freshet acl`), super users that pass every check, and, when
// authorization is off (the loopback-only default), everyone allowed.
// A denial is logged and counted; the caller answers with its protocol's
// authorization error, naming the resource.

import path from 'node:path';
import type { Logger } from 'pino';
import { readJsonIfExists, SerialQueue, writeJsonAtomic } from '../common/index.js';
import { decide, formatRule, MAX_ACL_RULES, parseAclRules, sameRule, type AclRule, type Operation, type Principal, type ResourceType } from './acl.js';

export const ACLS_FILE = path.join('metadata', 'acls.json');

export interface AuthorizerConfig {
  /** Off: every request is allowed (the default on 127.0.0.1 without authentication). */
  enabled: boolean;
  /** Users that pass every check (`admin`, for example). */
  superUsers: string[];
  /** Rules from a policy file, in addition to the data dir's. */
  policyRules: AclRule[];
}

export class AuthorizationError extends Error {
  constructor(
    readonly principal: Principal,
    readonly operation: Operation,
    readonly resource: ResourceType,
    readonly resourceName: string,
  ) {
    super(`${principal.user} may not ${operation} ${resource} "${resourceName}"`);
  }
}

export class Authorizer {
  private readonly queue = new SerialQueue();
  /** Denials by resource type and operation, for the metrics. */
  readonly denials = new Map<string, number>();

  private constructor(
    private readonly config: AuthorizerConfig,
    private readonly file: string | undefined,
    private managed: AclRule[],
    private readonly log: Logger,
  ) {}

  static async open(dataDir: string | undefined, config: AuthorizerConfig, log: Logger): Promise<Authorizer> {
    const file = dataDir === undefined ? undefined : path.join(dataDir, ACLS_FILE);
    return new Authorizer(config, file, file ? await Authorizer.read(file) : [], log);
  }

  private static async read(file: string): Promise<AclRule[]> {
    const stored = await readJsonIfExists<unknown>(file);
    return stored === undefined ? [] : parseAclRules(stored, file);
  }

  get enabled(): boolean {
    return this.config.enabled;
  }

  /** Every rule in force: the policy file's first, then the managed ones. */
  rules(): { rule: AclRule; source: 'policy' | 'managed' }[] {
    return [...this.config.policyRules.map((rule) => ({ rule, source: 'policy' as const })), ...this.managed.map((rule) => ({ rule, source: 'managed' as const }))];
  }

  allows(who: Principal, operation: Operation, resource: ResourceType, name: string): boolean {
    if (!this.config.enabled || who.mechanism === 'internal' || this.config.superUsers.includes(who.user)) return true;
    return decide([...this.config.policyRules, ...this.managed], who, operation, resource, name).allowed;
  }

  /** Whether `who` may; a denial is logged and counted (for requests, not for filtering what a listing shows). */
  permits(who: Principal, operation: Operation, resource: ResourceType, name: string): boolean {
    if (this.allows(who, operation, resource, name)) return true;
    const key = `${resource}:${operation}`;
    this.denials.set(key, (this.denials.get(key) ?? 0) + 1);
    this.log.warn({ principal: who.user, mechanism: who.mechanism, operation, resource, name }, 'request denied');
    return false;
  }

  /** Throws AuthorizationError (logged and counted) unless `who` may. */
  check(who: Principal, operation: Operation, resource: ResourceType, name: string): void {
    if (!this.permits(who, operation, resource, name)) throw new AuthorizationError(who, operation, resource, name);
  }

  add(rule: AclRule): Promise<void> {
    return this.queue.run(async () => {
      if (!this.file) throw new Error('this node keeps no ACLs of its own');
      if (this.managed.some((r) => sameRule(r, rule))) throw new Error(`the rule "${formatRule(rule)}" exists already`);
      if (this.managed.length >= MAX_ACL_RULES) throw new Error(`at most ${MAX_ACL_RULES} rules`);
      const next = [...this.managed, rule];
      await writeJsonAtomic(this.file, { rules: next });
      this.managed = next;
    });
  }

  remove(rule: AclRule): Promise<void> {
    return this.queue.run(async () => {
      if (!this.file) throw new Error('this node keeps no ACLs of its own');
      const next = this.managed.filter((r) => !sameRule(r, rule));
      if (next.length === this.managed.length) throw new Error(`no rule "${formatRule(rule)}"`);
      await writeJsonAtomic(this.file, { rules: next });
      this.managed = next;
    });
  }

  async reload(): Promise<void> {
    if (this.file) this.managed = await Authorizer.read(this.file);
  }
}
