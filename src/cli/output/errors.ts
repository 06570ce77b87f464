// What the CLI does with an error: one message (and a hint saying what to do)
// on stderr, and an exit status a script can branch on. The statuses are
// listed in `freshet --help` and the README.

import { CommanderError } from 'commander';
import type { Style } from './colour.js';

export const ExitCode = {
  OK: 0,
  /** Anything not covered below. */
  ERROR: 1,
  /** Unknown command or option, a missing or malformed argument (clap's status in fluvio). */
  USAGE: 2,
  /** No node answers at the endpoint, or the connection to it failed. */
  NO_NODE: 3,
  /** The topic, partition, profile or consumer named does not exist. */
  NOT_FOUND: 4,
  /** The node refused the request: the topic already exists, an invalid name or configuration, ... */
  REFUSED: 5,
  /** Records could not be delivered (produce). */
  DELIVERY: 6,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export const EXIT_CODES_HELP = `Exit status:
  0  success
  1  an error not listed below
  2  usage: unknown command or option, missing or malformed argument
  3  no node reachable at the endpoint (start one with \`freshet cluster start\`)
  4  not found: topic, partition, profile or consumer
  5  refused by the node: topic already exists, invalid name or configuration
  6  delivery failed: records could not be stored`;

/** An error the CLI raises itself, with the status to exit with and what the user can do about it. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue = ExitCode.ERROR,
    readonly hint?: string,
  ) {
    super(message);
  }
}

export function usageError(message: string, hint?: string): CliError {
  return new CliError(message, ExitCode.USAGE, hint);
}

export function notFoundError(message: string, hint?: string): CliError {
  return new CliError(message, ExitCode.NOT_FOUND, hint);
}

const NOT_FOUND_SERVER_ERRORS = new Set(['TopicNotFound', 'SmartModuleNotFound', 'SpuNotFound', 'TableFormatNotFound', 'MirrorNotFound']);

interface ClientErrorShape {
  code: string;
  errorName?: string;
  topic?: string;
}

function isClientError(err: unknown): err is Error & ClientErrorShape {
  return err instanceof Error && err.name.endsWith('Error') && typeof (err as Partial<ClientErrorShape>).code === 'string';
}

/** The exit status for any error the CLI can meet. */
export function exitCodeFor(err: unknown): ExitCodeValue {
  if (err instanceof CliError) return err.exitCode;
  if (err instanceof CommanderError) return ExitCode.USAGE;
  if (!isClientError(err)) return ExitCode.ERROR;
  switch (err.code) {
    case 'NO_NODE':
    case 'CONNECTION':
    case 'TIMEOUT':
      return ExitCode.NO_NODE;
    case 'TOPIC_NOT_FOUND':
    case 'PARTITION_NOT_FOUND':
      return ExitCode.NOT_FOUND;
    case 'SERVER':
      return NOT_FOUND_SERVER_ERRORS.has(err.errorName ?? '') ? ExitCode.NOT_FOUND : ExitCode.REFUSED;
    case 'DELIVERY':
    case 'RECORD_TOO_LARGE':
      return ExitCode.DELIVERY;
    default:
      return ExitCode.ERROR;
  }
}

function hintFor(err: unknown): string | undefined {
  if (err instanceof CliError) return err.hint;
  if (!isClientError(err)) return undefined;
  if (err.code === 'TOPIC_NOT_FOUND' && err.topic) return `create it with \`freshet topic create ${err.topic}\``;
  if (err.code === 'TIMEOUT' || err.code === 'CONNECTION') return 'check that the node is running: `freshet cluster status`';
  if (err.errorName === 'TopicAlreadyExists') return 'list topics with `freshet topic list`; delete one with `freshet topic delete NAME`';
  return undefined;
}

/** Writes the error (and its hint) to stderr; returns the exit status. */
export function reportError(err: unknown, style: Style, write: (text: string) => void = (text) => process.stderr.write(text)): ExitCodeValue {
  const code = exitCodeFor(err);
  const message = err instanceof Error ? err.message : String(err);
  write(`${style.red('error:')} ${message}\n`);
  const hint = hintFor(err);
  if (hint) write(`${style.dim('hint:')} ${hint}\n`);
  return code;
}
