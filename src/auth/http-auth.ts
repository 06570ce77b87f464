// Who is calling an HTTP API of the node (the console, the connector admin
// endpoint), framework-free so that both servers share it: a bearer token in
// `Authorization: Bearer <token>` or the console's session cookie, else a
// verified client certificate (its subject CN, as on the SC and SPU). Failed
// tokens go through the LoginGuard, per peer address, so guessing is slow and
// the guard's tables stay bounded. With authorization off (the loopback-only
// default) every caller is anonymous and every check passes.

import type http from 'node:http';
import type { TLSSocket } from 'node:tls';
import { ANONYMOUS, type Operation, type Principal, type ResourceType } from './acl.js';
import { AuthorizationError, type Authorizer } from './authorizer.js';
import type { LoginGuard } from './login-guard.js';
import type { UserStore } from './users.js';

/** The console's session cookie: the token, HttpOnly, set by POST /api/session. */
export const SESSION_COOKIE = 'freshet_token';
const MAX_TOKEN_LENGTH = 512;

export interface HttpAuthParts {
  users: UserStore;
  authorizer: Authorizer;
  guard: LoginGuard;
}

export type HttpAuthResult =
  | { ok: true; principal: Principal }
  | { ok: false; status: 401 | 429; error: string; hint: string; retryAfterSeconds?: number };

/** An HTTP error answer: status and JSON body. */
export interface HttpRefusal {
  status: number;
  body: { error: string; hint?: string; operation?: Operation; resource?: { type: ResourceType; name: string } };
  headers: Record<string, string>;
}

function cookieToken(header: string | undefined): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

/** The token a request carries: the Authorization header first, then the session cookie. */
export function requestToken(req: http.IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return match ? match[1] : header;
  }
  return cookieToken(req.headers.cookie);
}

function certificateSubject(req: http.IncomingMessage): string | undefined {
  const socket = req.socket as TLSSocket;
  if (!socket.encrypted || !socket.authorized) return undefined;
  const cn = socket.getPeerCertificate()?.subject?.CN;
  return Array.isArray(cn) ? cn[0] : cn;
}

/** The token's id (`fst_<id>_...`), the key failed attempts are counted under besides the peer. */
function tokenKey(token: string): string {
  const id = /^fst_([0-9a-f]{12})_/.exec(token)?.[1];
  return id ? `token:${id}` : 'token:malformed';
}

export class HttpAuthenticator {
  constructor(private readonly parts: HttpAuthParts) {}

  get enabled(): boolean {
    return this.parts.authorizer.enabled;
  }

  /** Checks a token alone (the console's login form): the principal, or why not. */
  checkToken(token: string, peer: string): HttpAuthResult {
    const key = tokenKey(token);
    const wait = this.parts.guard.lockedFor(peer, key);
    if (wait > 0) {
      const retryAfterSeconds = Math.ceil(wait / 1000);
      return { ok: false, status: 429, error: 'too many failed logins from this address', hint: `try again in ${retryAfterSeconds} s`, retryAfterSeconds };
    }
    const principal = token.length <= MAX_TOKEN_LENGTH ? this.parts.users.checkToken(token) : undefined;
    if (!principal) {
      this.parts.guard.failure(peer, key);
      return { ok: false, status: 401, error: 'invalid or revoked token', hint: 'issue one with `freshet user token NAME` and send it as "Authorization: Bearer <token>"' };
    }
    this.parts.guard.success(peer, key);
    return { ok: true, principal };
  }

  /** Who sent `req`; with authorization off, anonymous (every check passes then). */
  authenticate(req: http.IncomingMessage): HttpAuthResult {
    if (!this.enabled) return { ok: true, principal: ANONYMOUS };
    // A token is the caller's explicit choice; the certificate may be one the client sends to every listener.
    const token = requestToken(req);
    if (token !== undefined) return this.checkToken(token, req.socket.remoteAddress ?? 'unknown');
    const subject = certificateSubject(req);
    if (subject !== undefined) return { ok: true, principal: this.parts.users.principal(subject, 'x509') };
    return {
      ok: false,
      status: 401,
      error: 'authentication required',
      hint: 'send a token as "Authorization: Bearer <token>" (freshet: --token or FRESHET_TOKEN; issue one with `freshet user token NAME`)',
    };
  }

  /** Throws AuthorizationError (logged and counted by the Authorizer) unless `who` may. */
  check(who: Principal, operation: Operation, resource: ResourceType, name: string): void {
    this.parts.authorizer.check(who, operation, resource, name);
  }

  allows(who: Principal, operation: Operation, resource: ResourceType, name: string): boolean {
    return this.parts.authorizer.allows(who, operation, resource, name);
  }
}

/** The HTTP answer for a failed authentication or an authorization error; undefined for any other error. */
export function httpRefusal(failure: HttpAuthResult | unknown): HttpRefusal | undefined {
  if (failure instanceof AuthorizationError) {
    return {
      status: 403,
      body: {
        error: failure.message,
        operation: failure.operation,
        resource: { type: failure.resource, name: failure.resourceName },
        hint: `an administrator can allow it: freshet acl add --principal User:${failure.principal.user} --operation ${failure.operation} --resource ${failure.resource} --name ${failure.resourceName}`,
      },
      headers: {},
    };
  }
  const result = failure as HttpAuthResult;
  if (typeof result !== 'object' || result === null || !('ok' in result) || result.ok) return undefined;
  return {
    status: result.status,
    body: { error: result.error, hint: result.hint },
    headers: {
      ...(result.status === 401 ? { 'www-authenticate': 'Bearer realm="freshet"' } : {}),
      ...(result.retryAfterSeconds !== undefined ? { 'retry-after': String(result.retryAfterSeconds) } : {}),
    },
  };
}
