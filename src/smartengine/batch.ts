// Feeding stored record batches to a chain, as the SPU does: each batch is
// one SmartModuleInput made of its decompressed records section (passed to
// the module verbatim), its base offset and its first timestamp.

import {
  batchRecordsSection,
  NO_TIMESTAMP,
  type BatchHeader,
  type DecodeRecordsOptions,
  type Record,
} from '../protocol/index.js';
import type { SmartRecord } from './abi.js';
import type { ChainOutput, SmartChain } from './chain.js';

export interface BatchInput {
  /** The records section (i32 count + records), decompressed. */
  records: Buffer;
  baseOffset: number;
  /** The batch's first_timestamp (Fluvio's base timestamp). */
  baseTimestamp: number;
  header: BatchHeader;
}

/** The SmartModule input of one stored batch (throws BatchError when the batch is malformed). */
export function batchInput(batch: Buffer, opts: DecodeRecordsOptions = {}): BatchInput {
  const { header, section } = batchRecordsSection(batch, opts);
  return { records: section, baseOffset: header.baseOffset, baseTimestamp: header.firstTimestamp, header };
}

/** Runs one stored batch through a chain. */
export function processStoredBatch(chain: SmartChain, batch: Buffer, opts: DecodeRecordsOptions = {}): ChainOutput {
  const input = batchInput(batch, opts);
  return chain.process(input.records, { baseOffset: input.baseOffset, baseTimestamp: input.baseTimestamp });
}

/**
 * SmartRecords from decoded protocol records (absolute offsets and
 * timestamps) relative to a base offset and timestamp.
 */
export function toSmartRecords(records: readonly Record[], baseOffset: number, baseTimestamp: number): SmartRecord[] {
  return records.map((r) => ({
    attributes: 0,
    timestampDelta: r.timestamp === NO_TIMESTAMP || baseTimestamp <= 0 ? 0 : r.timestamp - baseTimestamp,
    offsetDelta: r.offset - baseOffset,
    key: r.key,
    value: r.value,
    headers: r.headers,
  }));
}
