// Where `freshet user` and `freshet acl` make their changes: a running node,
// through its HTTP API (/admin/users, /admin/acls: found as the other
// commands find it, authenticated with the caller's token; the change takes
// effect at once), or — with --data-dir — the files of a data dir no node
// holds (how the first administrator is made). The data dir's lock is held
// while its files are changed, so a node cannot start on them half-way; a
// node holding it is a refusal, saying to go through the node instead.

import { Command, Option } from 'commander';
import path from 'node:path';
import type { AclRule, Authorizer, UserStore, UserSummary } from '../auth/index.js';
import { defaultDataDir } from '../node/defaults.js';
import { rememberGlobals, type GlobalOptions } from './context.js';
import { callEndpoint, parseEndpoint, resolveEndpoint, type EndpointCall } from './node-endpoint.js';
import { CliError, ExitCode, notFoundError, usageError } from './output/errors.js';

export interface SecurityAdmin {
  readonly where: string;
  listUsers(): Promise<UserSummary[]>;
  addUser(name: string, options: { password?: string; groups?: string[]; replace?: boolean }): Promise<UserSummary>;
  deleteUser(name: string): Promise<void>;
  issueToken(name: string): Promise<{ id: string; token: string }>;
  revokeToken(name: string, id: string): Promise<void>;
  listAcls(): Promise<{ rule: AclRule; source: 'policy' | 'managed' }[]>;
  addAcl(rule: AclRule): Promise<void>;
  removeAcl(rule: AclRule): Promise<void>;
}

export interface SecurityFlags {
  console?: string;
  dataDir?: string;
  globals: GlobalOptions;
}

/** --console and --data-dir, and the global options kept for the action. */
export function securityTargetOptions(command: Command): Command {
  command
    .addOption(new Option('--console <host:port>', "the node's HTTP API (default: the one the node of -c advertises, else recorded in the default data dir, else 127.0.0.1:9080)").argParser(parseEndpoint))
    .addOption(new Option('--data-dir <dir>', 'change the files of this data dir directly (no node may be running on it): how the first administrator is made'));
  return rememberGlobals(command);
}

const ADMIN_CALL: EndpointCall = {
  what: "node's HTTP API",
  unreachableHint: 'start the node, or change a stopped node\'s files with --data-dir DIR',
  errorHint: (status, hint) => (status === 403 ? 'this needs cluster alter (or describe, to list): ask an administrator, or use a super user\'s token' : hint),
};

async function httpAdmin(flags: SecurityFlags): Promise<SecurityAdmin> {
  const endpoint = await resolveEndpoint({
    flag: flags.console,
    flagName: '--console',
    envVar: 'FRESHET_CONSOLE',
    file: path.join(defaultDataDir(), 'console.json'),
    globals: flags.globals,
  });
  const call = <T>(method: string, route: string, body?: unknown) => callEndpoint<T>(endpoint, ADMIN_CALL, method, route, body);
  const user = (name: string) => `/admin/users/${encodeURIComponent(name)}`;
  return {
    where: `the node at ${endpoint.url}`,
    listUsers: () => call('GET', '/admin/users'),
    addUser: (name, options) => call('POST', '/admin/users', { name, ...options }),
    deleteUser: async (name) => void (await call('DELETE', user(name))),
    issueToken: (name) => call('POST', `${user(name)}/tokens`),
    revokeToken: async (name, id) => void (await call('DELETE', `${user(name)}/tokens/${encodeURIComponent(id)}`)),
    listAcls: () => call('GET', '/admin/acls'),
    addAcl: async (rule) => void (await call('POST', '/admin/acls', { rule })),
    removeAcl: async (rule) => void (await call('DELETE', '/admin/acls', { rule })),
  };
}

/** Runs `work` on the data dir's own files, holding its lock. */
async function onDataDir<T>(dataDir: string, work: (parts: { users: UserStore; authorizer: Authorizer }) => Promise<T>): Promise<T> {
  const { acquireDataDirLock } = await import('../server/data-dir-lock.js');
  const { Authorizer, UserStore } = await import('../auth/index.js');
  const { default: pino } = await import('pino');
  let lock;
  try {
    lock = await acquireDataDirLock(dataDir);
  } catch (err) {
    throw new CliError((err as Error).message, ExitCode.REFUSED, 'a running node keeps its users and ACLs: drop --data-dir and go through it (with a token: --token or FRESHET_TOKEN)');
  }
  try {
    const users = await UserStore.open(dataDir);
    const authorizer = await Authorizer.open(dataDir, { enabled: true, superUsers: [], policyRules: [] }, pino({ level: 'silent' }));
    return await work({ users, authorizer });
  } finally {
    await lock.release();
  }
}

/** A store's refusal as the CLI's error: not found (4), invalid (2), exists or over a limit (5). */
function asCliError(err: unknown): never {
  const { message, code } = err as Error & { code?: string };
  if (code === 'not-found' || message.startsWith('no rule ')) throw notFoundError(message);
  if (code === 'invalid') throw usageError(message);
  if (code === 'exists' || code === 'limit' || message.includes('exists already')) throw new CliError(message, ExitCode.REFUSED);
  throw err;
}

function dirAdmin(dataDir: string): SecurityAdmin {
  const run = <T>(work: Parameters<typeof onDataDir<T>>[1]) => onDataDir(dataDir, work).catch(asCliError);
  return {
    where: `data dir ${dataDir}`,
    listUsers: () => run(async ({ users }) => users.list()),
    addUser: (name, options) => run(({ users }) => users.add(name, options)),
    deleteUser: (name) => run(({ users }) => users.delete(name)),
    issueToken: (name) => run(({ users }) => users.issueToken(name)),
    revokeToken: (name, id) => run(({ users }) => users.revokeToken(name, id)),
    listAcls: () => run(async ({ authorizer }) => authorizer.rules()),
    addAcl: (rule) => run(({ authorizer }) => authorizer.add(rule)),
    removeAcl: (rule) => run(({ authorizer }) => authorizer.remove(rule)),
  };
}

export async function securityAdmin(flags: SecurityFlags): Promise<SecurityAdmin> {
  if (flags.dataDir !== undefined) {
    if (flags.console !== undefined) throw usageError('give --console or --data-dir, not both');
    return dirAdmin(path.resolve(flags.dataDir));
  }
  return httpAdmin(flags);
}
