// A node's HTTP endpoints (connector admin, console) as the CLI finds and calls
// them: a flag, else an environment variable, else the URL the node records in
// a file under its data dir, else 127.0.0.1:9080; JSON in and out.

import { readFile } from 'node:fs/promises';
import { InvalidArgumentError } from 'commander';
import { CliError, ExitCode, notFoundError, usageError } from './output/errors.js';

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
}

/** The endpoint from `flag` (named `flagName`), else env var `envVar`, else the URL recorded in `file`, else the default. */
export async function resolveEndpoint(flag: string | undefined, flagName: string, envVar: string, file: string): Promise<Endpoint> {
  if (flag) return { url: flag, from: flagName };
  const fromEnv = process.env[envVar];
  if (fromEnv) return { url: parseEndpoint(fromEnv), from: envVar };
  const recorded = await readFile(file, 'utf8').then(
    (text) => (JSON.parse(text) as { url?: string }).url,
    () => undefined,
  );
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

/** A JSON request to an endpoint; its JSON answer, or a CliError for an error answer or when nothing answers. */
export async function callEndpoint<T>(endpoint: Endpoint, how: EndpointCall, method: string, route: string, body?: unknown): Promise<T> {
  const { url, from } = endpoint;
  let response: Response;
  try {
    response = await fetch(`${url}${route}`, {
      method,
      ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    const Unreachable = how.unreachableError ?? CliError;
    throw new Unreachable(
      `no node answers at ${url} (${how.what}, from ${from}): ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`,
      ExitCode.NO_NODE,
      how.unreachableHint,
    );
  }
  const answer = (await response.json().catch(() => ({}))) as T & { error?: string; hint?: string };
  if (!response.ok) {
    const message = answer.error ?? `HTTP ${response.status}`;
    const hint = how.errorHint(response.status, answer.hint);
    if (response.status === 404) throw notFoundError(message, hint);
    if (response.status === 400) throw usageError(message, hint);
    throw new CliError(message, response.status === 409 ? ExitCode.REFUSED : ExitCode.ERROR, hint);
  }
  return answer;
}
