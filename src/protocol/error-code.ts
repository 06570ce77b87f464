// ErrorCode (Fluvio `ErrorCode`, repr(i16)):
//
//   tag      i16
//   payload  depends on the tag (most variants carry none):
//     2     Other                          message String
//     7     RequestTimedOut                timeout_ms u64, kind u8 (0 = Produce)
//     71    OffsetEvicted                  offset i64, next_available i64
//     3003  OffsetFlushRequestError        message String
//     6001  SmartModuleNotFound            name String
//     6002  SmartModuleInvalid             error String, name Option<String>
//     6003  SmartModuleInvalidExports      error String, kind String
//     6004  SmartModuleRuntimeError        hint String, offset i64, kind u8,
//                                          record_key Option<varint-len bytes>,
//                                          record_value varint-len bytes
//     6005  SmartModuleChainInitError      message String
//     6006  SmartModuleInitError           hint String
//     6007  SmartModuleLookBackError       message String
//     6008  SmartModuleMemoryLimitExceeded requested u64, max u64
//     8001  DerivedStreamNotFound          message String
//     8003  DerivedStreamInvalid           message String
//     10001 DeduplicationSmartModuleNameInvalid message String
//     12001 SystemSpecDeletionAttempt      kind String, name String
//     12002 SystemSpecUpdatingAttempt      kind String, name String
//
// An unknown tag is a decode error on the client, so we refuse to write one.

import { DecodeError, type Reader, type Writer } from './codec.js';

export const ErrorCode = {
  UnknownServerError: -1,
  None: 0,
  OffsetOutOfRange: 1,
  Other: 2,
  NotLeaderForPartition: 6,
  RequestTimedOut: 7,
  MessageTooLarge: 10,
  PermissionDenied: 13,
  StorageError: 56,
  InvalidCreateRequest: 60,
  InvalidDeleteRequest: 61,
  OffsetEvicted: 71,
  SpuError: 1000,
  SpuRegisterationFailed: 1001,
  SpuOffline: 1002,
  SpuNotFound: 1003,
  SpuAlreadyExists: 1004,
  TopicError: 2000,
  TopicNotFound: 2001,
  TopicAlreadyExists: 2002,
  TopicPendingInitialization: 2003,
  TopicInvalidConfiguration: 2004,
  TopicNotProvisioned: 2005,
  TopicInvalidName: 2006,
  TopicDeleted: 2007,
  TopicInvalidReplicaType: 2008,
  PartitionPendingInitialization: 3000,
  PartitionNotLeader: 3001,
  FetchSessionNotFoud: 3002,
  OffsetFlushRequestError: 3003,
  OffsetManagementDisabled: 3004,
  ManagedConnectorError: 5000,
  ManagedConnectorNotFound: 5001,
  ManagedConnectorAlreadyExists: 5002,
  SmartModuleError: 6000,
  SmartModuleNotFound: 6001,
  SmartModuleInvalid: 6002,
  SmartModuleInvalidExports: 6003,
  SmartModuleRuntimeError: 6004,
  SmartModuleChainInitError: 6005,
  SmartModuleInitError: 6006,
  SmartModuleLookBackError: 6007,
  SmartModuleMemoryLimitExceeded: 6008,
  TableFormatError: 7000,
  TableFormatNotFound: 7001,
  TableFormatAlreadyExists: 7002,
  DerivedStreamObjectError: 8000,
  DerivedStreamNotFound: 8001,
  DerivedStreamJoinFetchError: 8002,
  DerivedStreamInvalid: 8003,
  CompressionError: 9000,
  DeduplicationSmartModuleNotLoaded: 10000,
  DeduplicationSmartModuleNameInvalid: 10001,
  MirrorNotFound: 11001,
  MirrorAlreadyExists: 11002,
  MirrorProduceFromHome: 11003,
  MirrorDeleteFromRemote: 11004,
  MirrorInvalidType: 11005,
  SystemSpecDeletionAttempt: 12001,
  SystemSpecUpdatingAttempt: 12002,
} as const;

export type ErrorCodeName = keyof typeof ErrorCode;

/** Kind of request in RequestTimedOut; Fluvio knows only Produce. */
export const RequestKind = { Produce: 0 } as const;

/** SmartModule kind inside SmartModuleRuntimeError (a u8 enum distinct from the invocation's kind). */
export const SmartModuleErrorKind = {
  Filter: 0,
  Map: 1,
  ArrayMap: 2,
  Aggregate: 3,
  FilterMap: 4,
  Join: 5,
  Generic: 6,
} as const;

/**
 * An error code with its payload. Only the fields of the code's variant are
 * written; missing ones are written as their zero value.
 */
export interface FluvioError {
  code: number;
  /** The String of Other, OffsetFlushRequestError, SmartModuleChainInitError, SmartModuleLookBackError, DerivedStreamNotFound, DerivedStreamInvalid, DeduplicationSmartModuleNameInvalid. */
  message?: string;
  /** RequestTimedOut. */
  timeoutMs?: number;
  /** RequestTimedOut: RequestKind. */
  requestKind?: number;
  /** OffsetEvicted, SmartModuleRuntimeError. */
  offset?: number;
  /** OffsetEvicted. */
  nextAvailable?: number;
  /** SmartModuleNotFound, SmartModuleInvalid (optional there), SystemSpec*. */
  name?: string;
  /** SmartModuleInvalid, SmartModuleInvalidExports. */
  error?: string;
  /** SmartModuleInvalidExports, SystemSpec* (a String). */
  kind?: string;
  /** SmartModuleRuntimeError, SmartModuleInitError. */
  hint?: string;
  /** SmartModuleRuntimeError: SmartModuleErrorKind. */
  smartModuleKind?: number;
  /** SmartModuleRuntimeError; null is a record without key. */
  recordKey?: Buffer | null;
  /** SmartModuleRuntimeError. */
  recordValue?: Buffer;
  /** SmartModuleMemoryLimitExceeded. */
  requested?: number;
  /** SmartModuleMemoryLimitExceeded. */
  max?: number;
}

const NAME_BY_CODE = new Map<number, ErrorCodeName>(
  (Object.entries(ErrorCode) as [ErrorCodeName, number][]).map(([name, code]) => [code, name]),
);

const STRING_PAYLOAD: ReadonlySet<number> = new Set([
  ErrorCode.Other,
  ErrorCode.OffsetFlushRequestError,
  ErrorCode.SmartModuleChainInitError,
  ErrorCode.SmartModuleLookBackError,
  ErrorCode.DerivedStreamNotFound,
  ErrorCode.DerivedStreamInvalid,
  ErrorCode.DeduplicationSmartModuleNameInvalid,
]);

export function isKnownErrorCode(code: number): boolean {
  return NAME_BY_CODE.has(code);
}

export function errorCodeName(code: number): ErrorCodeName | undefined {
  return NAME_BY_CODE.get(code);
}

export const NO_ERROR: Readonly<FluvioError> = Object.freeze({ code: ErrorCode.None });

export function encodeErrorCode(w: Writer, err: FluvioError): void {
  const code = err.code;
  if (!NAME_BY_CODE.has(code)) throw new RangeError(`unknown Fluvio error code ${code}`);
  w.i16(code);
  if (STRING_PAYLOAD.has(code)) {
    w.string(err.message ?? '');
    return;
  }
  switch (code) {
    case ErrorCode.RequestTimedOut:
      w.u64(err.timeoutMs ?? 0);
      w.u8(err.requestKind ?? RequestKind.Produce);
      return;
    case ErrorCode.OffsetEvicted:
      w.i64(err.offset ?? 0);
      w.i64(err.nextAvailable ?? 0);
      return;
    case ErrorCode.SmartModuleNotFound:
      w.string(err.name ?? '');
      return;
    case ErrorCode.SmartModuleInvalid:
      w.string(err.error ?? '');
      w.optional(err.name, (name) => w.string(name));
      return;
    case ErrorCode.SmartModuleInvalidExports:
      w.string(err.error ?? '');
      w.string(err.kind ?? '');
      return;
    case ErrorCode.SmartModuleRuntimeError: {
      w.string(err.hint ?? '');
      w.i64(err.offset ?? 0);
      w.u8(err.smartModuleKind ?? SmartModuleErrorKind.Filter);
      w.optional(err.recordKey, (key) => writeRecordData(w, key));
      writeRecordData(w, err.recordValue ?? Buffer.alloc(0));
      return;
    }
    case ErrorCode.SmartModuleInitError:
      w.string(err.hint ?? '');
      return;
    case ErrorCode.SmartModuleMemoryLimitExceeded:
      w.u64(err.requested ?? 0);
      w.u64(err.max ?? 0);
      return;
    case ErrorCode.SystemSpecDeletionAttempt:
    case ErrorCode.SystemSpecUpdatingAttempt:
      w.string(err.kind ?? '');
      w.string(err.name ?? '');
      return;
    default:
      return;
  }
}

export function decodeErrorCode(r: Reader, field = 'error_code'): FluvioError {
  const code = r.i16(field);
  if (!NAME_BY_CODE.has(code)) throw new DecodeError(`${field}: unknown error code ${code}`);
  if (STRING_PAYLOAD.has(code)) return { code, message: r.string(`${field}.message`) };
  switch (code) {
    case ErrorCode.RequestTimedOut: {
      const timeoutMs = r.u64(`${field}.timeout_ms`);
      const requestKind = r.u8(`${field}.kind`);
      if (requestKind !== RequestKind.Produce) throw new DecodeError(`${field}.kind: unknown request kind ${requestKind}`);
      return { code, timeoutMs, requestKind };
    }
    case ErrorCode.OffsetEvicted: {
      const offset = r.i64(`${field}.offset`);
      return { code, offset, nextAvailable: r.i64(`${field}.next_available`) };
    }
    case ErrorCode.SmartModuleNotFound:
      return { code, name: r.string(`${field}.name`) };
    case ErrorCode.SmartModuleInvalid: {
      const error = r.string(`${field}.error`);
      const name = r.optional(() => r.string(`${field}.name`), `${field}.name`);
      return name === undefined ? { code, error } : { code, error, name };
    }
    case ErrorCode.SmartModuleInvalidExports: {
      const error = r.string(`${field}.error`);
      return { code, error, kind: r.string(`${field}.kind`) };
    }
    case ErrorCode.SmartModuleRuntimeError: {
      const hint = r.string(`${field}.hint`);
      const offset = r.i64(`${field}.offset`);
      const smartModuleKind = r.u8(`${field}.kind`);
      if (smartModuleKind > SmartModuleErrorKind.Generic) {
        throw new DecodeError(`${field}.kind: unknown SmartModule kind ${smartModuleKind}`);
      }
      const recordKey = r.optional(() => readRecordData(r, `${field}.record_key`), `${field}.record_key`) ?? null;
      const recordValue = readRecordData(r, `${field}.record_value`);
      return { code, hint, offset, smartModuleKind, recordKey, recordValue };
    }
    case ErrorCode.SmartModuleInitError:
      return { code, hint: r.string(`${field}.hint`) };
    case ErrorCode.SmartModuleMemoryLimitExceeded: {
      const requested = r.u64(`${field}.requested`);
      return { code, requested, max: r.u64(`${field}.max`) };
    }
    case ErrorCode.SystemSpecDeletionAttempt:
    case ErrorCode.SystemSpecUpdatingAttempt: {
      const kind = r.string(`${field}.kind`);
      return { code, kind, name: r.string(`${field}.name`) };
    }
    default:
      return { code };
  }
}

// RecordData: varint length + bytes (the record encoding, used inside SmartModuleRuntimeError).
function writeRecordData(w: Writer, data: Buffer): void {
  w.varint(data.length);
  w.raw(data);
}

function readRecordData(r: Reader, field: string): Buffer {
  const length = r.varint(`${field} length`);
  if (length < 0) throw new DecodeError(`${field}: negative length ${length}`);
  return r.raw(length, field);
}

/**
 * The text the Fluvio client shows for a code: the variant name as a sentence
 * ("TopicAlreadyExists" → "Topic already exists"). Empty for None.
 */
export function errorText(code: number): string {
  if (code === ErrorCode.None) return '';
  const name = NAME_BY_CODE.get(code);
  if (name === undefined) return `Unknown error code ${code}`;
  const words = name.split(/(?=[A-Z])/);
  return words.map((word, i) => (i === 0 ? word : word.toLowerCase())).join(' ');
}

/** errorText plus the payload, for logs and client-side error messages. */
export function describeError(err: FluvioError): string {
  const text = errorText(err.code);
  const details: string[] = [];
  if (err.message !== undefined && err.message !== '') details.push(err.message);
  if (err.error !== undefined) details.push(err.error);
  if (err.hint !== undefined) details.push(err.hint);
  if (err.name !== undefined) details.push(`name: ${err.name}`);
  if (err.kind !== undefined) details.push(`kind: ${err.kind}`);
  if (err.timeoutMs !== undefined) details.push(`timeout: ${err.timeoutMs} ms`);
  if (err.offset !== undefined) details.push(`offset: ${err.offset}`);
  if (err.nextAvailable !== undefined) details.push(`next available: ${err.nextAvailable}`);
  if (err.requested !== undefined) details.push(`requested: ${err.requested}, max: ${err.max ?? 0}`);
  return details.length === 0 ? text : `${text}: ${details.join(', ')}`;
}
