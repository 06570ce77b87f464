// Who may do what: ACL rules in Kafka's shape, finer than Fluvio's role per
// object type. A rule names a principal (`User:alice`, `Group:readers`, or
// `User:*` for every authenticated one), a resource type and a name or name
// prefix, operations, and allow or deny. Deny wins over allow; with no rule
// matching, the answer is no. Read, write, delete and alter imply describe,
// as in Kafka, so a principal that may read a topic also sees it listed.

import { z } from 'zod';

export const RESOURCE_TYPES = ['topic', 'group', 'smartmodule', 'connector', 'dataflow', 'cluster'] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];

export const OPERATIONS = ['read', 'write', 'create', 'delete', 'describe', 'alter'] as const;
export type Operation = (typeof OPERATIONS)[number];

/** The only name a cluster resource has. */
export const CLUSTER_RESOURCE = 'freshet';

/** At most this many rules (each check scans them; TIGER_STYLE: nothing unbounded). */
export const MAX_ACL_RULES = 10_000;

const principalPattern = /^(User|Group):(\*|[^\s*]{1,256})$/;

export const aclRuleSchema = z
  .object({
    principal: z.string().regex(principalPattern, 'expected User:<name>, Group:<name> or User:*'),
    resource: z.enum(RESOURCE_TYPES),
    /** The resource's name, a prefix of names (with pattern: prefix), or `*` for every name. */
    name: z.string().min(1).max(256),
    pattern: z.enum(['literal', 'prefix']).default('literal'),
    operations: z.array(z.enum([...OPERATIONS, 'all'])).min(1),
    effect: z.enum(['allow', 'deny']).default('allow'),
  })
  .strict();

export type AclRule = z.output<typeof aclRuleSchema>;
export type AclRuleInput = z.input<typeof aclRuleSchema>;

/** Who is asking: a user name, and the groups it belongs to. */
export interface Principal {
  /** `anonymous` when the connection did not authenticate. */
  readonly user: string;
  readonly groups: readonly string[];
  /** How it was authenticated. */
  readonly mechanism: 'anonymous' | 'x509' | 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512' | 'token' | 'internal';
}

export const ANONYMOUS: Principal = Object.freeze({ user: 'anonymous', groups: [], mechanism: 'anonymous' });

/** What implies what: a rule for one of these operations also allows describe. */
const IMPLIES_DESCRIBE = new Set<Operation>(['read', 'write', 'delete', 'alter']);

function principalMatches(rule: AclRule, who: Principal): boolean {
  const [kind, name] = [rule.principal.slice(0, rule.principal.indexOf(':')), rule.principal.slice(rule.principal.indexOf(':') + 1)];
  if (kind === 'User') return name === '*' ? who.mechanism !== 'anonymous' : name === who.user;
  return who.groups.includes(name);
}

function resourceMatches(rule: AclRule, type: ResourceType, name: string): boolean {
  if (rule.resource !== type) return false;
  if (rule.name === '*') return true;
  return rule.pattern === 'prefix' ? name.startsWith(rule.name) : name === rule.name;
}

function operationMatches(rule: AclRule, operation: Operation): boolean {
  if (rule.operations.includes('all') || rule.operations.includes(operation)) return true;
  return operation === 'describe' && rule.effect === 'allow' && rule.operations.some((op) => IMPLIES_DESCRIBE.has(op as Operation));
}

export type Decision = { allowed: true } | { allowed: false; reason: 'denied by rule' | 'no rule allows it'; rule?: AclRule };

/** The decision of `rules` on one request. */
export function decide(rules: readonly AclRule[], who: Principal, operation: Operation, type: ResourceType, name: string): Decision {
  let allowed = false;
  for (const rule of rules) {
    if (!principalMatches(rule, who) || !resourceMatches(rule, type, name) || !operationMatches(rule, operation)) continue;
    if (rule.effect === 'deny') return { allowed: false, reason: 'denied by rule', rule };
    allowed = true;
  }
  return allowed ? { allowed: true } : { allowed: false, reason: 'no rule allows it' };
}

/** Parses rules from a policy document (`{ rules: [...] }` or a bare list); errors name the rule index and key. */
export function parseAclRules(document: unknown, source: string): AclRule[] {
  const list = Array.isArray(document) ? document : (document as { rules?: unknown } | null)?.rules;
  if (!Array.isArray(list)) throw new Error(`${source}: expected a list of ACL rules (or an object with "rules")`);
  if (list.length > MAX_ACL_RULES) throw new Error(`${source}: ${list.length} rules, more than the limit of ${MAX_ACL_RULES}`);
  return list.map((item, index) => {
    const parsed = aclRuleSchema.safeParse(item);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new Error(`${source}: rule ${index + 1}${issue.path.length ? ` (${issue.path.join('.')})` : ''}: ${issue.message}`);
    }
    return parsed.data;
  });
}

/** Two rules are the same rule when every field is (used to remove a rule and to refuse duplicates). */
export function sameRule(a: AclRule, b: AclRule): boolean {
  return (
    a.principal === b.principal &&
    a.resource === b.resource &&
    a.name === b.name &&
    a.pattern === b.pattern &&
    a.effect === b.effect &&
    [...a.operations].sort().join() === [...b.operations].sort().join()
  );
}

/** One line for people: `allow User:alice read,write topic orders* `. */
export function formatRule(rule: AclRule): string {
  return `${rule.effect} ${rule.principal} ${rule.operations.join(',')} ${rule.resource} ${rule.name}${rule.pattern === 'prefix' ? '*' : ''}`;
}
