// A node's HTTP API (console: connectors, dataflows, users, ACLs; or the
// connector admin endpoint) as the CLI finds and calls it: a flag, else an
// environment variable, else the URL the node records in a data dir named
// with --data-dir, else — when the user named a node with -c, -P,
// FRESHET_ENDPOINT or FRESHET_PROFILE — the URL that node's SC advertises
// (Freshet's NodeInfo request), else the URL recorded in the default data
// dir, else 127.0.0.1:9080. (-c or -P on the command line wins over a
// --data-dir whose node is not running.) HTTPS with the same TLS settings
// as the cluster connection (CA, client certificate, domain); the caller's
// token (--token, else FRESHET_TOKEN) as `Authorization: Bearer`. JSON in
// and out.

import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { readFile } from 'node:fs/promises';
import { InvalidArgumentError } from 'commander';
import type { ClientTlsOptions } from '../client/tls.js';
import { clientTls, connectWith, namesCluster, type GlobalOptions } from './context.js';
import { CliError, ExitCode, notFoundError, usageError } from './output/errors.js';

const REQUEST_TIMEOUT_MS = 30_000;
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

/** HOST:PORT or a URL, as the origin of a URL (a commander argument parser). */
export function parseEndpoint(text: string): string {
  const url = /^https?:\/\//.test(text) ? text : `http://${text}`;
  try {
    return new URL(url).origin;
  } catch {
    throw new InvalidArgumentError(`expected HOST:PORT or a URL, such as 127.0.0.1:9080, got "${text}"`);
  }
}

export interface Endpoint {
  url: string;
  /** where the URL came from, for error messages */
  from: string;
  /** for an https URL: how to check the node and who we are */
  tls?: ClientTlsOptions;
  token?: string;
}

/** Where the HTTP API is looked for: the command's own flag and variable, and the file the node writes in its data dir. */
export interface ApiLookup {
  flag: string | undefined;
  flagName: string;
  envVar: string;
  file: string;
  /** The file's data dir was named on the command line: it wins over a cluster named by the environment. */
  fileGiven?: boolean;
  /** The global options (-c, -P, TLS flags, --token). */
  globals: GlobalOptions;
}

function isUnspecified(host: string): boolean {
  return host === '0.0.0.0' || host === '[::]' || host === '::';
}

/** The HTTP API the SC of the named node advertises. */
async function discover(globals: GlobalOptions): Promise<{ url: string; from: string }> {
  const freshet = await connectWith(globals);
  try {
    let info;
    try {
      info = await freshet.admin.nodeInfo();
    } catch (err) {
      if ((err as { code?: string }).code !== 'UNSUPPORTED') throw err;
      throw new CliError(`the node at ${freshet.endpoint} does not advertise its HTTP API (a Fluvio SC, or an older Freshet)`, ExitCode.NO_NODE, 'give it with --admin / --console HOST:PORT');
    }
    if (!info.httpUrl) throw new CliError(`the node at ${freshet.endpoint} runs no HTTP API (its console and connector admin endpoint are disabled)`, ExitCode.NO_NODE);
    // A node listening on every address advertises 0.0.0.0: reach it where we reached its SC.
    const url = new URL(info.httpUrl);
    if (isUnspecified(url.hostname)) url.hostname = freshet.endpoint.slice(0, freshet.endpoint.lastIndexOf(':'));
    return { url: url.origin, from: `the node at ${freshet.endpoint}` };
  } finally {
    await freshet.close();
  }
}

/** The endpoint of the node's HTTP API, and how to call it. */
export async function resolveEndpoint(lookup: ApiLookup): Promise<Endpoint> {
  const found = await locate(lookup);
  const token = lookup.globals.token ?? process.env.FRESHET_TOKEN;
  const tlsOptions = found.url.startsWith('https:') ? await clientTls(lookup.globals) : undefined;
  return { ...found, ...(token ? { token } : {}), ...(tlsOptions ? { tls: tlsOptions } : {}) };
}

async function recordedUrl(file: string): Promise<string | undefined> {
  return readFile(file, 'utf8').then(
    (text) => (JSON.parse(text) as { url?: string }).url,
    () => undefined,
  );
}

async function locate({ flag, flagName, envVar, file, fileGiven, globals }: ApiLookup): Promise<{ url: string; from: string }> {
  if (flag) return { url: flag, from: flagName };
  const fromEnv = process.env[envVar];
  if (fromEnv) return { url: parseEndpoint(fromEnv), from: envVar };
  const recorded = await recordedUrl(file);
  if (recorded && fileGiven) return { url: recorded, from: file };
  if (globals.cluster !== undefined || globals.profile !== undefined || (!fileGiven && namesCluster(globals))) return discover(globals);
  if (recorded) return { url: recorded, from: file };
  return { url: 'http://127.0.0.1:9080', from: 'the default' };
}

export interface EndpointCall {
  /** what the endpoint is, as in "no node answers at URL (<what>, from …)" */
  what: string;
  /** the hint when nothing answers */
  unreachableHint: string;
  /** the error class thrown when nothing answers */
  unreachableError?: typeof CliError;
  /** the hint for an error answer with this HTTP status; `answerHint` is the one the node sent */
  errorHint: (status: number, answerHint: string | undefined) => string | undefined;
}

interface RawAnswer {
  status: number;
  text: string;
}

function tlsRequestOptions(options: ClientTlsOptions | undefined): https.RequestOptions {
  if (!options) return {};
  return {
    ...(options.ca ? { ca: options.ca } : {}),
    ...(options.cert ? { cert: options.cert } : {}),
    ...(options.key ? { key: options.key } : {}),
    rejectUnauthorized: options.policy !== 'anonymous',
    ...(options.domain ? { servername: options.domain, checkServerIdentity: (_host: string, cert: tls.PeerCertificate) => tls.checkServerIdentity(options.domain!, cert) } : {}),
  };
}

function request(endpoint: Endpoint, method: string, route: string, body: string | undefined): Promise<RawAnswer> {
  const target = new URL(`${endpoint.url}${route}`);
  const secure = target.protocol === 'https:';
  const headers: http.OutgoingHttpHeaders = {
    ...(body !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {}),
    ...(endpoint.token ? { authorization: `Bearer ${endpoint.token}` } : {}),
  };
  const host = target.hostname.replace(/^\[|\]$/g, '');
  const options: https.RequestOptions = {
    method,
    host,
    port: target.port || (secure ? 443 : 80),
    path: `${target.pathname}${target.search}`,
    headers,
    timeout: REQUEST_TIMEOUT_MS,
    ...(secure ? { ...(net.isIP(host) ? {} : { servername: host }), ...tlsRequestOptions(endpoint.tls) } : {}),
  };
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).request(options, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_ANSWER_BYTES) req.destroy(new Error(`answer larger than ${MAX_ANSWER_BYTES} bytes`));
        else chunks.push(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS / 1000} s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** A JSON request to an endpoint; its JSON answer, or a CliError for an error answer or when nothing answers. */
export async function callEndpoint<T>(endpoint: Endpoint, how: EndpointCall, method: string, route: string, body?: unknown): Promise<T> {
  const { url, from } = endpoint;
  let raw: RawAnswer;
  try {
    raw = await request(endpoint, method, route, body === undefined ? undefined : JSON.stringify(body));
  } catch (err) {
    const Unreachable = how.unreachableError ?? CliError;
    const { explainTlsError } = await import('../client/tls.js');
    const reason = explainTlsError(err as NodeJS.ErrnoException, url) ?? (err as Error).message;
    throw new Unreachable(`no node answers at ${url} (${how.what}, from ${from}): ${reason}`, ExitCode.NO_NODE, how.unreachableHint);
  }
  let answer: T & { error?: string; hint?: string };
  try {
    answer = JSON.parse(raw.text) as T & { error?: string; hint?: string };
  } catch {
    answer = {} as T & { error?: string; hint?: string };
  }
  if (raw.status < 200 || raw.status >= 300) {
    const message = answer.error ?? `HTTP ${raw.status}`;
    const hint = how.errorHint(raw.status, answer.hint) ?? answer.hint;
    if (raw.status === 404) throw notFoundError(message, hint);
    if (raw.status === 400) throw usageError(message, hint);
    if (raw.status === 401) throw new CliError(message, ExitCode.REFUSED, endpoint.token ? 'the token was refused: is it revoked? issue another with `freshet user token NAME`' : 'give a token with --token or FRESHET_TOKEN');
    throw new CliError(message, raw.status === 409 || raw.status === 403 || raw.status === 429 ? ExitCode.REFUSED : ExitCode.ERROR, hint);
  }
  return answer;
}
