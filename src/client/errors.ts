// The errors the client throws. Every one is a FreshetError with a stable
// `code`, so callers (and the CLI) can branch without parsing messages.

import { describeError, errorCodeName, type FluvioError } from '../protocol/index.js';

export type FreshetErrorCode =
  | 'CONNECTION'
  | 'NO_NODE'
  | 'TIMEOUT'
  | 'TLS'
  | 'CLOSED'
  | 'SERVER'
  | 'TOPIC_NOT_FOUND'
  | 'PARTITION_NOT_FOUND'
  | 'DELIVERY'
  | 'RECORD_TOO_LARGE'
  | 'UNSUPPORTED'
  | 'CONFIG'
  | 'PROTOCOL';

export class FreshetError extends Error {
  override name = 'FreshetError';
  constructor(
    readonly code: FreshetErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The transport failed (refused, reset, closed, timed out). Safe to retry idempotent work. */
export class ConnectionError extends FreshetError {
  override name = 'ConnectionError';
  constructor(message: string, options?: { cause?: unknown; code?: 'CONNECTION' | 'NO_NODE' | 'TIMEOUT' | 'TLS' }) {
    super(options?.code ?? 'CONNECTION', message, options);
  }
}

/** Nothing listens at the endpoint: says how to start a node. */
export class NoNodeError extends ConnectionError {
  override name = 'NoNodeError';
  constructor(
    readonly endpoint: string,
    cause?: unknown,
  ) {
    super(
      `no Freshet node at ${endpoint} (${(cause as Error | undefined)?.message ?? 'connection refused'}); ` +
        'start one with `npx freshet cluster start`, or point FRESHET_ENDPOINT / the profile at a running node',
      { cause, code: 'NO_NODE' },
    );
  }
}

/** A request got no answer in time; the connection it was on is dropped. */
export class RequestTimeoutError extends ConnectionError {
  override name = 'RequestTimeoutError';
  constructor(what: string, timeoutMs: number) {
    super(`${what} got no response within ${timeoutMs} ms`, { code: 'TIMEOUT' });
  }
}

/** The client, producer or consumer was closed by its owner. */
export class ClosedError extends FreshetError {
  override name = 'ClosedError';
  constructor(what: string) {
    super('CLOSED', `${what} is closed`);
  }
}

/** The server answered with a Fluvio error code. */
export class ServerError extends FreshetError {
  override name = 'ServerError';
  readonly errorCode: number;
  readonly errorName: string;
  constructor(
    readonly error: FluvioError,
    context: string,
  ) {
    super('SERVER', `${context}: ${describeError(error)}`);
    this.errorCode = error.code;
    this.errorName = errorCodeName(error.code) ?? `Unknown(${error.code})`;
  }
}

export class TopicNotFoundError extends FreshetError {
  override name = 'TopicNotFoundError';
  constructor(
    readonly topic: string,
    readonly existing: readonly string[],
  ) {
    super(
      'TOPIC_NOT_FOUND',
      `topic "${topic}" not found; ` +
        (existing.length === 0 ? 'there are no topics yet' : `topics that exist: ${existing.join(', ')}`),
    );
  }
}

export class PartitionNotFoundError extends FreshetError {
  override name = 'PartitionNotFoundError';
  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly partitions: number,
  ) {
    super('PARTITION_NOT_FOUND', `topic "${topic}" has no partition ${partition} (it has ${partitions}: 0..${partitions - 1})`);
  }
}

/** A record could not be delivered; `cause` says why (after the retries the producer allows). */
export class DeliveryError extends FreshetError {
  override name = 'DeliveryError';
  constructor(message: string, cause?: unknown) {
    super('DELIVERY', message, { cause });
  }
}

export class RecordTooLargeError extends FreshetError {
  override name = 'RecordTooLargeError';
  constructor(size: number, limit: number) {
    super('RECORD_TOO_LARGE', `record of ${size} bytes exceeds maxRequestSize (${limit} bytes)`);
  }
}

/** True for errors where trying again on a new connection may succeed. */
export function isRetryable(err: unknown): boolean {
  return err instanceof ConnectionError;
}
