// The node's users: names, groups, SCRAM credentials (salted and hashed, never
// the password) and bearer tokens for the HTTP APIs (kept as SHA-256 hashes;
// a token is shown once, when it is issued). Persisted in
// <dataDir>/metadata/users.json with atomic replaces.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import path from 'node:path';
import { readJsonIfExists, SerialQueue, writeJsonAtomic } from '../common/index.js';
import type { Principal } from './acl.js';
import { passwordMatches, SCRAM_MECHANISMS, scramCredential, type ScramCredential, type ScramMechanism } from './scram.js';

export const USERS_FILE = path.join('metadata', 'users.json');
export const MAX_USERS = 10_000;
export const MAX_TOKENS_PER_USER = 16;
const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;
const GROUP_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const TOKEN_PREFIX = 'fst_';

interface StoredToken {
  id: string;
  sha256: string;
  createdAt: string;
}

interface StoredUser {
  name: string;
  groups: string[];
  scram: Partial<Record<ScramMechanism, ScramCredential>>;
  tokens: StoredToken[];
  createdAt: string;
}

/** What may be shown of a user: no secret, no hash. */
export interface UserSummary {
  name: string;
  groups: string[];
  mechanisms: ScramMechanism[];
  tokens: { id: string; createdAt: string }[];
  createdAt: string;
}

export class UserError extends Error {
  constructor(
    readonly code: 'invalid' | 'exists' | 'not-found' | 'limit',
    message: string,
  ) {
    super(message);
  }
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export class UserStore {
  private readonly queue = new SerialQueue();

  private constructor(
    private readonly file: string,
    private users: Map<string, StoredUser>,
  ) {}

  static async open(dataDir: string): Promise<UserStore> {
    const file = path.join(dataDir, USERS_FILE);
    return new UserStore(file, await UserStore.read(file));
  }

  private static async read(file: string): Promise<Map<string, StoredUser>> {
    const stored = (await readJsonIfExists<{ users?: StoredUser[] }>(file))?.users ?? [];
    return new Map(stored.map((user) => [user.name, user]));
  }

  /** Takes changes another process (the CLI on a stopped node's data dir) wrote. */
  async reload(): Promise<void> {
    this.users = await UserStore.read(this.file);
  }

  get size(): number {
    return this.users.size;
  }

  list(): UserSummary[] {
    return [...this.users.values()].sort((a, b) => (a.name < b.name ? -1 : 1)).map(summary);
  }

  get(name: string): UserSummary | undefined {
    const user = this.users.get(name);
    return user && summary(user);
  }

  /** Adds a user (or, with `replace`, sets its password and groups). */
  add(name: string, options: { password?: string; groups?: string[]; replace?: boolean; iterations?: number }): Promise<UserSummary> {
    return this.queue.run(async () => {
      if (!USER_NAME.test(name)) throw new UserError('invalid', `invalid user name "${name}": letters, digits and . _ @ - (1-128, starting with a letter or digit)`);
      for (const group of options.groups ?? []) {
        if (!GROUP_NAME.test(group)) throw new UserError('invalid', `invalid group name "${group}"`);
      }
      const existing = this.users.get(name);
      if (existing && !options.replace) throw new UserError('exists', `user "${name}" already exists`);
      if (!existing && this.users.size >= MAX_USERS) throw new UserError('limit', `at most ${MAX_USERS} users`);
      if (options.password !== undefined && options.password.length < 8) throw new UserError('invalid', 'a password needs at least 8 characters');
      const scram: StoredUser['scram'] = options.password === undefined ? (existing?.scram ?? {}) : {};
      if (options.password !== undefined) {
        for (const mechanism of SCRAM_MECHANISMS) scram[mechanism] = scramCredential(mechanism, options.password, options.iterations);
      }
      const user: StoredUser = {
        name,
        groups: [...new Set(options.groups ?? existing?.groups ?? [])].sort(),
        scram,
        tokens: existing?.tokens ?? [],
        createdAt: existing?.createdAt ?? new Date().toISOString(),
      };
      const next = new Map(this.users).set(name, user);
      await this.save(next);
      return summary(user);
    });
  }

  delete(name: string): Promise<void> {
    return this.queue.run(async () => {
      if (!this.users.has(name)) throw new UserError('not-found', `user "${name}" not found`);
      const next = new Map(this.users);
      next.delete(name);
      await this.save(next);
    });
  }

  /** Issues a bearer token for `name`; the token itself is returned only here. */
  issueToken(name: string): Promise<{ id: string; token: string }> {
    return this.queue.run(async () => {
      const user = this.users.get(name);
      if (!user) throw new UserError('not-found', `user "${name}" not found`);
      if (user.tokens.length >= MAX_TOKENS_PER_USER) throw new UserError('limit', `user "${name}" has ${MAX_TOKENS_PER_USER} tokens already; revoke one first`);
      const id = randomBytes(6).toString('hex');
      const token = `${TOKEN_PREFIX}${id}_${randomBytes(24).toString('base64url')}`;
      const next = new Map(this.users).set(name, { ...user, tokens: [...user.tokens, { id, sha256: sha256(token), createdAt: new Date().toISOString() }] });
      await this.save(next);
      return { id, token };
    });
  }

  revokeToken(name: string, id: string): Promise<void> {
    return this.queue.run(async () => {
      const user = this.users.get(name);
      if (!user?.tokens.some((t) => t.id === id)) throw new UserError('not-found', `user "${name}" has no token ${id}`);
      await this.save(new Map(this.users).set(name, { ...user, tokens: user.tokens.filter((t) => t.id !== id) }));
    });
  }

  private async save(next: Map<string, StoredUser>): Promise<void> {
    await writeJsonAtomic(this.file, { users: [...next.values()] });
    this.users = next;
  }

  scramCredential(name: string, mechanism: ScramMechanism): ScramCredential | undefined {
    return this.users.get(name)?.scram[mechanism];
  }

  /** The principal of a user known by name (a certificate's subject, a SASL login). */
  principal(name: string, mechanism: Principal['mechanism']): Principal {
    return { user: name, groups: this.users.get(name)?.groups ?? [], mechanism };
  }

  /** SASL/PLAIN: checked against the stored SCRAM-SHA-256 keys. */
  checkPassword(name: string, password: string): Principal | undefined {
    const credential = this.users.get(name)?.scram['SCRAM-SHA-256'];
    return credential && passwordMatches('SCRAM-SHA-256', credential, password) ? this.principal(name, 'PLAIN') : undefined;
  }

  /** A bearer token's user, or undefined for an unknown or revoked token. */
  checkToken(token: string): Principal | undefined {
    const match = /^fst_([0-9a-f]{12})_[A-Za-z0-9_-]{32}$/.exec(token);
    if (!match) return undefined;
    const hash = Buffer.from(sha256(token), 'hex');
    for (const user of this.users.values()) {
      const stored = user.tokens.find((t) => t.id === match[1]);
      if (stored && timingSafeEqual(Buffer.from(stored.sha256, 'hex'), hash)) return this.principal(user.name, 'token');
    }
    return undefined;
  }
}

function summary(user: StoredUser): UserSummary {
  return {
    name: user.name,
    groups: user.groups,
    mechanisms: SCRAM_MECHANISMS.filter((m) => user.scram[m] !== undefined),
    tokens: user.tokens.map(({ id, createdAt }) => ({ id, createdAt })),
    createdAt: user.createdAt,
  };
}
