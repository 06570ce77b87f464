// A small HTTP client on node:http/https for the http connectors: exact
// status line and raw headers (repeated ones kept), separate connect and
// whole-request timeouts, abort by signal, keep-alive agents.

import http from 'node:http';
import https from 'node:https';

export interface HttpRequest {
  url: string;
  method: string;
  headers: [string, string][];
  body?: Buffer | string;
  /** Connect (TCP + TLS) deadline, ms. */
  connectTimeoutMs?: number;
  /** Deadline of the whole request (response body included), ms. */
  timeoutMs?: number;
  signal?: AbortSignal;
  agent?: http.Agent;
}

export interface HttpResponse {
  status: number;
  statusMessage: string;
  httpVersion: string;
  /** Name/value pairs as received, repeated headers kept. */
  headers: [string, string][];
  body: Buffer;
}

export class HttpTimeoutError extends Error {
  override readonly name = 'HttpTimeoutError';
}

const agents = { http: new http.Agent({ keepAlive: true, maxSockets: 16 }), https: new https.Agent({ keepAlive: true, maxSockets: 16 }) };

function pairs(raw: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i], raw[i + 1]]);
  return out;
}

/** Starts a request; resolves with the response head (its body still to read), for streaming. */
export function openHttp(request: HttpRequest): Promise<{ response: http.IncomingMessage; head: Omit<HttpResponse, 'body'>; done: () => void }> {
  return new Promise((resolve, reject) => {
    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      reject(new Error(`invalid URL ${request.url}`));
      return;
    }
    const secure = url.protocol === 'https:';
    const headers: http.OutgoingHttpHeaders = {};
    for (const [name, value] of request.headers) {
      const existing = headers[name];
      headers[name] = existing === undefined ? value : [...[existing].flat().map(String), value];
    }
    const body = request.body === undefined ? undefined : Buffer.isBuffer(request.body) ? request.body : Buffer.from(request.body, 'utf8');
    if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-length')) headers['content-length'] = body.length;
    const req = (secure ? https : http).request(url, {
      method: request.method,
      headers,
      agent: request.agent ?? (secure ? agents.https : agents.http),
    });
    let connectTimer: NodeJS.Timeout | undefined;
    let totalTimer: NodeJS.Timeout | undefined;
    const cleanup = () => {
      clearTimeout(connectTimer);
      clearTimeout(totalTimer);
      request.signal?.removeEventListener('abort', onAbort);
    };
    const fail = (err: Error) => {
      cleanup();
      req.destroy(err);
      reject(err);
    };
    const onAbort = () => fail(new Error('request aborted'));
    if (request.signal?.aborted) return onAbort();
    request.signal?.addEventListener('abort', onAbort, { once: true });
    if (request.timeoutMs !== undefined) {
      totalTimer = setTimeout(() => fail(new HttpTimeoutError(`no complete response from ${url.host} within ${request.timeoutMs} ms`)), request.timeoutMs);
    }
    if (request.connectTimeoutMs !== undefined) {
      req.on('socket', (socket) => {
        if (!socket.connecting) return;
        connectTimer = setTimeout(() => fail(new HttpTimeoutError(`could not connect to ${url.host} within ${request.connectTimeoutMs} ms`)), request.connectTimeoutMs);
        socket.once('connect', () => clearTimeout(connectTimer));
      });
    }
    req.on('error', (err) => {
      cleanup();
      reject(err);
    });
    req.on('response', (response) => {
      clearTimeout(connectTimer);
      // The whole-request deadline keeps running while the body is read; the caller calls done() when finished.
      response.on('error', () => {});
      const onTimeout = (err: Error) => response.destroy(err);
      if (totalTimer) {
        clearTimeout(totalTimer);
        totalTimer = setTimeout(() => onTimeout(new HttpTimeoutError(`response body from ${url.host} not complete within ${request.timeoutMs} ms`)), request.timeoutMs);
      }
      request.signal?.removeEventListener('abort', onAbort);
      const onAbortBody = () => response.destroy(new Error('request aborted'));
      request.signal?.addEventListener('abort', onAbortBody, { once: true });
      resolve({
        response,
        head: {
          status: response.statusCode ?? 0,
          statusMessage: response.statusMessage ?? '',
          httpVersion: `HTTP/${response.httpVersion}`,
          headers: pairs(response.rawHeaders),
        },
        done: () => {
          clearTimeout(totalTimer);
          request.signal?.removeEventListener('abort', onAbortBody);
        },
      });
    });
    req.end(body);
  });
}

/** One request, its whole response body read. */
export async function httpRequest(request: HttpRequest): Promise<HttpResponse> {
  const { response, head, done } = await openHttp(request);
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of response) chunks.push(chunk as Buffer);
    return { ...head, body: Buffer.concat(chunks) };
  } finally {
    done();
  }
}
