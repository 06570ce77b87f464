// Authentication and authorization on the console: every request but the
// page's own files is authenticated (src/server/auth/http-auth.ts: client
// certificate, bearer token or the session cookie) and checked with the
// node's Authorizer before its route runs:
//
//   GET  /api/node, /metrics              cluster describe
//   GET  /dataflows                        listed: only the dataflows the caller may describe
//   GET  /dataflows/NAME[/...]             dataflow describe NAME
//   POST /dataflows                        dataflow create (the name in the YAML's meta.name)
//   POST /dataflows/NAME/stop|start        dataflow alter NAME
//   DELETE /dataflows/NAME                 dataflow delete NAME
//   /connectors...                         checked by the connector API itself (admin-http.ts)
//   /admin/users..., /admin/acls...        checked by their routes (admin-api.ts)
//   anything else                          cluster describe
//
// The browser page logs in once: POST /api/session {token} checks the token
// and sets it as an HttpOnly, SameSite=Strict session cookie, which fetch and
// EventSource then send by themselves. Without a valid one, GET / answers the
// login page instead of the console.

import { readFile } from 'node:fs/promises';
import type http from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { configName } from '../connectors/index.js';
import { httpRefusal, SESSION_COOKIE, type HttpAuthenticator } from '../auth/index.js';
import type { Operation, Principal, ResourceType } from '../auth/index.js';

type Access = { kind: 'public' } | { kind: 'route' } | { kind: 'list' } | { kind: 'check'; operation: Operation; resource: ResourceType; name: string };

const PUBLIC: Access = { kind: 'public' };
const CLUSTER_DESCRIBE: Access = { kind: 'check', operation: 'describe', resource: 'cluster', name: 'freshet' };

/** What a console request needs, from its method and path alone. */
export function consoleAccess(method: string, pathname: string): Access {
  if (method === 'GET' && (pathname === '/' || pathname === '/health' || pathname.startsWith('/assets/'))) return PUBLIC;
  if (pathname === '/api/session') return PUBLIC;
  if (pathname === '/connectors' || pathname.startsWith('/connectors/') || pathname.startsWith('/admin/')) return { kind: 'route' };
  const dataflow = /^\/dataflows(?:\/([^/]+)(?:\/([^/]+))?)?\/?$/.exec(pathname);
  if (dataflow) {
    const [, rawName, action] = dataflow;
    if (rawName === undefined) return method === 'POST' ? { kind: 'route' } : { kind: 'list' };
    const name = decodeURIComponent(rawName);
    if (method === 'DELETE') return { kind: 'check', operation: 'delete', resource: 'dataflow', name };
    if (method === 'POST' && (action === 'stop' || action === 'start')) return { kind: 'check', operation: 'alter', resource: 'dataflow', name };
    return { kind: 'check', operation: 'describe', resource: 'dataflow', name };
  }
  return CLUSTER_DESCRIBE;
}

const principals = new WeakMap<http.IncomingMessage, Principal>();

/** The principal the console authenticated for this request (the connector and admin routes use it). */
export function requestPrincipal(req: http.IncomingMessage): Principal {
  const principal = principals.get(req);
  if (!principal) throw new Error('request not authenticated by the console');
  return principal;
}

function refuse(reply: FastifyReply, failure: unknown): FastifyReply {
  const refusal = httpRefusal(failure);
  if (!refusal) throw failure;
  return reply.code(refusal.status).headers(refusal.headers).send(refusal.body);
}

const LOGIN_PAGE = new URL('./static/login.html', import.meta.url);
const CLEAR_COOKIE = `${SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict`;

export function registerConsoleAuth(app: FastifyInstance, auth: HttpAuthenticator, secure: boolean): void {
  app.addHook('onRequest', async (req, reply) => {
    const pathname = req.url.split('?')[0]!;
    const access = consoleAccess(req.method, pathname);
    // The page's files and /health are served to anyone, unauthenticated (a stale cookie on them must not count as failed logins).
    if (access.kind === 'public' && pathname !== '/') return;
    const who = auth.authenticate(req.raw);
    if (who.ok) principals.set(req.raw, who.principal);
    if (access.kind === 'public') {
      if (who.ok) return;
      // The login page instead of the console; a stale session cookie is dropped.
      return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').header('set-cookie', CLEAR_COOKIE).send(await readFile(LOGIN_PAGE));
    }
    if (!who.ok) return refuse(reply, who);
    if (access.kind !== 'check') return;
    try {
      auth.check(who.principal, access.operation, access.resource, access.name);
    } catch (err) {
      return refuse(reply, err);
    }
  });

  // POST /dataflows names the dataflow in its body: checked once the body is parsed.
  app.addHook('preHandler', async (req: FastifyRequest<{ Body: { config?: unknown } }>, reply) => {
    if (req.method !== 'POST' || req.url.split('?')[0]!.replace(/\/$/, '') !== '/dataflows') return;
    const config = req.body?.config;
    try {
      auth.check(requestPrincipal(req.raw), 'create', 'dataflow', typeof config === 'string' ? (configName(config) ?? '*') : '*');
    } catch (err) {
      return refuse(reply, err);
    }
  });

  // A list shows only what the caller may describe, as a topic list does.
  app.addHook('onSend', async (req, reply, payload) => {
    if (req.method !== 'GET' || reply.statusCode !== 200 || consoleAccess('GET', req.url.split('?')[0]!).kind !== 'list' || typeof payload !== 'string') return payload;
    const principal = principals.get(req.raw);
    const items = JSON.parse(payload) as { name?: string }[];
    if (!principal || !Array.isArray(items)) return payload;
    return JSON.stringify(items.filter((item) => typeof item.name === 'string' && auth.allows(principal, 'describe', 'dataflow', item.name)));
  });

  app.post<{ Body: { token?: unknown } }>('/api/session', async (req, reply) => {
    if (!auth.enabled) return { user: 'anonymous', note: 'this node does not require authentication' };
    if (typeof req.body?.token !== 'string') return reply.code(400).send({ error: 'expected {"token": "<token>"}' });
    const result = auth.checkToken(req.body.token, req.socket.remoteAddress ?? 'unknown');
    if (!result.ok) return refuse(reply, result);
    const cookie = `${SESSION_COOKIE}=${encodeURIComponent(req.body.token)}; Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
    return reply.header('set-cookie', cookie).send({ user: result.principal.user });
  });
  app.delete('/api/session', async (_req, reply) => reply.header('set-cookie', CLEAR_COOKIE).send({ ok: true }));
}
