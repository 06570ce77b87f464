// The node's connector admin endpoint: a small JSON-over-HTTP API on
// 127.0.0.1 through which `freshet connector create|list|describe|logs|delete`
// reach the connector manager (the SC speaks only Fluvio's protocol, which
// has no connector objects). The port is the node's `connectors.adminPort`
// (default 9080, the console port of ARCHITECTURE.md; a node on ephemeral
// ports gets an ephemeral one; a port in use falls back to a free one), and
// the URL is written to `<dataDir>/connectors/admin.json` so the CLI finds it
// from the data dir.
//
//   GET    /connectors                  → [ConnectorInfo]
//   POST   /connectors                  {config, secretsFile?, secrets?} → 201 ConnectorDetails
//   GET    /connectors/NAME             → ConnectorDetails
//   GET    /connectors/NAME/logs?lines=N → {lines: [pino JSON lines]}
//   DELETE /connectors/NAME             → {deleted: NAME}
//
// Errors are {error, hint?} with 400 (invalid config), 401 (no or a bad
// token), 403 (the Authorizer refused: the resource named), 404, 409 (exists).
// Every route is checked with the caller's principal: list shows the
// connectors it may describe; create, describe (and logs) and delete need
// those operations on the connector's name. With the node's TLS the server
// speaks HTTPS; with authorization, callers authenticate with a bearer token
// or a client certificate (src/server/auth/http-auth.ts).
// `handleConnectorRequest` can also be mounted in another server (the
// console) instead of this one.

import http from 'node:http';
import https from 'node:https';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from './errors.js';
import { ConnectorExistsError, ConnectorNotFoundError, CONNECTORS_DIR, type ConnectorManager } from './manager.js';
import { writeJsonAtomic } from '../common/index.js';
import { httpRefusal, type HttpAuthenticator } from '../auth/index.js';
import type { Principal } from '../auth/index.js';
import type { ListenerTls } from '../auth/index.js';

export const DEFAULT_ADMIN_PORT = 9080;
export const ADMIN_FILE = 'admin.json';
const MAX_BODY = 4 * 1024 * 1024;

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new ConfigError(`request body larger than ${MAX_BODY} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new ConfigError('request body is not JSON');
  }
}

/** `meta.name` of a connector or dataflow YAML, when it has one (for the authorization check before it is parsed in full). */
export function configName(text: string): string | undefined {
  try {
    const name = (parseYaml(text) as { meta?: { name?: unknown } } | null)?.meta?.name;
    return typeof name === 'string' && name !== '' ? name : undefined;
  } catch {
    return undefined;
  }
}

/** Who asks, and the check of the node's Authorizer (absent: everything is allowed). */
export interface ConnectorAccess {
  principal: Principal;
  auth: HttpAuthenticator;
}

/** Serves a request under /connectors; returns false when the path is not one of these. */
export async function handleConnectorRequest(manager: ConnectorManager, req: http.IncomingMessage, res: http.ServerResponse, access?: ConnectorAccess): Promise<boolean> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] !== 'connectors') return false;
  const check = (operation: 'create' | 'describe' | 'delete', name: string) => access?.auth.check(access.principal, operation, 'connector', name);
  try {
    if (parts.length === 1 && req.method === 'GET') {
      send(res, 200, access ? manager.list().filter((c) => access.auth.allows(access.principal, 'describe', 'connector', c.name)) : manager.list());
    } else if (parts.length === 1 && req.method === 'POST') {
      const body = (await readJson(req)) as { config?: unknown; secretsFile?: unknown; secrets?: unknown };
      if (typeof body.config !== 'string') throw new ConfigError('expected {"config": "<the YAML text>"}');
      check('create', configName(body.config) ?? '*');
      const secrets =
        typeof body.secrets === 'object' && body.secrets !== null
          ? Object.fromEntries(Object.entries(body.secrets).filter((e): e is [string, string] => typeof e[1] === 'string'))
          : undefined;
      const details = await manager.create({
        config: body.config,
        ...(typeof body.secretsFile === 'string' ? { secretsFile: body.secretsFile } : {}),
        ...(secrets ? { secrets } : {}),
      });
      send(res, 201, details);
    } else if (parts.length === 2 && req.method === 'GET') {
      check('describe', parts[1]!);
      send(res, 200, manager.describe(parts[1]));
    } else if (parts.length === 2 && req.method === 'DELETE') {
      check('delete', parts[1]!);
      await manager.delete(parts[1]);
      send(res, 200, { deleted: parts[1] });
    } else if (parts.length === 3 && parts[2] === 'logs' && req.method === 'GET') {
      check('describe', parts[1]!);
      const lines = Number(url.searchParams.get('lines') ?? 100);
      send(res, 200, { lines: manager.logs(parts[1], Number.isFinite(lines) ? lines : 100) });
    } else send(res, parts.length <= 3 ? 405 : 404, { error: `${req.method} ${url.pathname} is not supported` });
  } catch (err) {
    const refusal = httpRefusal(err);
    if (refusal) send(res, refusal.status, refusal.body, refusal.headers);
    else if (err instanceof ConfigError) send(res, 400, { error: err.message, ...(err.hint ? { hint: err.hint } : {}) });
    else if (err instanceof ConnectorNotFoundError) send(res, 404, { error: err.message, hint: 'list connectors with `freshet connector list`' });
    else if (err instanceof ConnectorExistsError) send(res, 409, { error: err.message, hint: 'delete it first with `freshet connector delete NAME`, or choose another meta.name' });
    else send(res, 500, { error: (err as Error).message });
  }
  return true;
}

export interface AdminServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export interface AdminServerSecurity {
  /** HTTPS with the node's certificate; client certificates signed by `ca` identify their CN. */
  tls?: ListenerTls | undefined;
  auth: HttpAuthenticator;
}

/** Starts the admin endpoint and records its URL in `<dataDir>/connectors/admin.json`. */
export async function startAdminServer(
  manager: ConnectorManager,
  options: { host: string; port: number; dataDir: string; log: Logger; security?: AdminServerSecurity | undefined },
): Promise<AdminServer> {
  const security = options.security;
  const serve = (req: http.IncomingMessage, res: http.ServerResponse) => {
    let access: ConnectorAccess | undefined;
    if (security) {
      const who = security.auth.authenticate(req);
      if (!who.ok) {
        const refusal = httpRefusal(who)!;
        send(res, refusal.status, refusal.body, refusal.headers);
        return;
      }
      access = { principal: who.principal, auth: security.auth };
    }
    void handleConnectorRequest(manager, req, res, access).then((handled) => {
      if (!handled) send(res, 404, { error: 'not found; the connector API is under /connectors' });
    });
  };
  const tls = security?.tls;
  const server = tls
    ? https.createServer({ cert: tls.cert, key: tls.key, ...(tls.ca ? { ca: tls.ca, requestCert: true, rejectUnauthorized: false } : {}), minVersion: 'TLSv1.2' }, serve)
    : http.createServer(serve);
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, options.host, () => {
        server.off('error', reject);
        const address = server.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });
  let port: number;
  try {
    port = await listen(options.port);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || options.port === 0) throw err;
    options.log.warn({ port: options.port }, 'connector admin port in use; using a free port instead (see connectors/admin.json in the data dir)');
    port = await listen(0);
  }
  const url = `${tls ? 'https' : 'http'}://${options.host}:${port}`;
  const file = path.join(options.dataDir, CONNECTORS_DIR, ADMIN_FILE);
  await writeJsonAtomic(file, { url, pid: process.pid });
  return {
    url,
    port,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await rm(file, { force: true });
    },
  };
}
