// The node's security settings made real: TLS material read from its files,
// the users and the authorizer opened, and the rule that a node reachable
// from other machines must authenticate its clients (or be told --insecure).

import { readFile } from 'node:fs/promises';
import net from 'node:net';
import { parse as parseYaml } from 'yaml';
import type { Logger } from 'pino';
import { ANONYMOUS, Authorizer, LoginGuard, parseAclRules, UserStore, type AclRule, type Principal } from '../auth/index.js';
import { HttpAuthenticator } from '../auth/http-auth.js';
import type { ListenerSecurity } from '../server/net/tcp-listener.js';
import type { ListenerTls } from '../server/net/secure.js';
import type { NodeConfig } from './config.js';

export class NodeConfigError extends Error {}

export interface NodeSecurity {
  tls: ListenerTls | undefined;
  users: UserStore;
  authorizer: Authorizer;
  listener: ListenerSecurity;
  /** Failed logins of every kind (HTTP tokens, SASL), rate-limited per peer with bounded tables. */
  guard: LoginGuard;
  /** Who calls the HTTP APIs (console, connector admin). */
  http: HttpAuthenticator;
}

function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (net.isIPv4(host)) return host.startsWith('127.');
  return host === '::1';
}

/** Refuses a node that others could reach without TLS client certificates and authorization. */
export function checkExposure(config: NodeConfig): void {
  if (isLoopback(config.host) || config.insecure) return;
  const missing: string[] = [];
  if (!config.tls?.caFile || config.tls.requireClientCert === false) missing.push('TLS with client certificates (--tls-cert, --tls-key, --tls-ca)');
  if (!config.auth?.enabled) missing.push('authorization (--auth with --super-user or an ACL policy file)');
  if (missing.length === 0) return;
  throw new NodeConfigError(
    `refusing to listen on ${config.host} without ${missing.join(' and ')}: anyone who can reach this address could read and write every topic. ` +
      `Configure them (see docs/security.md), listen on 127.0.0.1, or pass --insecure to start it unprotected on purpose.`,
  );
}

async function readPem(file: string, what: string): Promise<string> {
  try {
    const text = await readFile(file, 'utf8');
    if (!text.includes('-----BEGIN ')) throw new Error('not a PEM file');
    return text;
  } catch (err) {
    throw new NodeConfigError(`cannot read the TLS ${what} ${file}: ${(err as Error).message}`, { cause: err });
  }
}

async function loadTls(config: NodeConfig): Promise<ListenerTls | undefined> {
  if (!config.tls) return undefined;
  const tls: ListenerTls = { cert: await readPem(config.tls.certFile, 'certificate'), key: await readPem(config.tls.keyFile, 'key') };
  if (config.tls.caFile) tls.ca = await readPem(config.tls.caFile, 'client CA');
  if (config.tls.requireClientCert !== undefined) tls.requireClientCert = config.tls.requireClientCert;
  return tls;
}

async function loadPolicy(file: string | undefined): Promise<AclRule[]> {
  if (!file) return [];
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new NodeConfigError(`cannot read the ACL policy file ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    return parseAclRules(parseYaml(text), file);
  } catch (err) {
    throw new NodeConfigError((err as Error).message, { cause: err });
  }
}

export async function openSecurity(config: NodeConfig, log: Logger): Promise<NodeSecurity> {
  const tls = await loadTls(config);
  const users = await UserStore.open(config.dataDir);
  const authorizer = await Authorizer.open(
    config.dataDir,
    { enabled: config.auth?.enabled === true, superUsers: config.auth?.superUsers ?? [], policyRules: await loadPolicy(config.auth?.policyFile) },
    log.child({ component: 'auth' }),
  );
  const identify = (identity: { certificateSubject: string | undefined }): Principal =>
    identity.certificateSubject === undefined ? ANONYMOUS : users.principal(identity.certificateSubject, 'x509');
  const guard = new LoginGuard();
  return { tls, users, authorizer, listener: { tls, identify }, guard, http: new HttpAuthenticator({ users, authorizer, guard }) };
}
