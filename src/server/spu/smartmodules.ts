import type { Logger } from 'pino';
import { parseBatchHeader, decodeRecords, assembleBatch, Compression, type BatchHeader } from '../../protocol/index.js';
import type { SmartModuleInvocation } from '../../protocol/index.js';
import {
  encodeRecords,
  invocationsToConfigs,
  processStoredBatch,
  toSmartRecords,
  type ChainOutput,
  type Lookback,
  type SmartChain,
  type SmartEngine,
  type SmartRecord,
} from '../../smartengine/index.js';
import type { PartitionStore } from '../../storage/index.js';

/** Finds a SmartModule's bytes (gzipped or raw wasm) by the name a request uses. */
export type SmartModuleLookup = (name: string) => Promise<Uint8Array | undefined>;

/** Bounds on what a look-back may read from a partition before a chain starts. */
export const LOOKBACK_LIMITS = {
  maxRecords: 100_000,
  maxBytes: 64 * 1024 * 1024,
} as const;

/**
 * Turns the SmartModule invocations of a StreamFetch or Produce request into
 * a running chain: names resolved through registered and built-in modules,
 * look-back fed from the partition, as Fluvio's SPU does.
 */
export class SmartModuleService {
  constructor(
    private readonly engine: SmartEngine,
    private readonly lookup: SmartModuleLookup,
    private readonly log: Logger,
  ) {}

  /** Throws SmartModuleError (with the Fluvio error code to send) when the chain cannot start. */
  async startChain(invocations: readonly SmartModuleInvocation[], version: number, store: PartitionStore): Promise<SmartChain> {
    const configs = await invocationsToConfigs(invocations, { version, lookup: this.lookup });
    const chain = await this.engine.buildChain(configs);
    try {
      if (chain.needsLookBack) await chain.lookBack((lookback) => readLookback(store, lookback));
    } catch (err) {
      chain.close();
      throw err;
    }
    this.log.debug({ modules: chain.modules().map((m) => m.name), topic: store.topic, partition: store.partition }, 'SmartModule chain started');
    return chain;
  }
}

/**
 * The records a look-back asks for: the last `last` records, or those newer
 * than `age`, capped at `last` when it is set. Offsets and timestamps are
 * absolute (the module sees base offset and base timestamp 0).
 */
export async function readLookback(store: PartitionStore, lookback: Lookback): Promise<SmartRecord[]> {
  const highWatermark = store.highWatermark();
  const wanted = Math.min(lookback.last > 0 ? lookback.last : LOOKBACK_LIMITS.maxRecords, LOOKBACK_LIMITS.maxRecords);
  let offset = Math.max(store.logStartOffset(), highWatermark - wanted);
  const records = [];
  let bytes = 0;
  while (offset < highWatermark && bytes < LOOKBACK_LIMITS.maxBytes) {
    const result = await store.read(offset, LOOKBACK_LIMITS.maxBytes - bytes);
    if (result.chunks.length === 0) break;
    for (const chunk of result.chunks) {
      bytes += chunk.length;
      for (const record of decodeRecords(chunk)) if (record.offset >= offset && record.offset < highWatermark) records.push(record);
      const header = parseBatchHeader(chunk, 0);
      offset = header.baseOffset + header.lastOffsetDelta + 1;
    }
  }
  const since = lookback.age ? Date.now() - (lookback.age.seconds * 1000 + Math.floor(lookback.age.nanos / 1e6)) : undefined;
  const selected = since === undefined ? records : records.filter((record) => record.timestamp >= since);
  return toSmartRecords(selected.slice(-wanted), 0, 0);
}

/**
 * Runs one stored batch through a chain. A batch that starts before
 * `fromOffset` (a fetch that begins in the middle of a batch) only feeds the
 * records from `fromOffset` on.
 */
export function processBatchFrom(chain: SmartChain, batch: Buffer, header: BatchHeader, fromOffset: number): ChainOutput {
  if (header.baseOffset >= fromOffset) return processStoredBatch(chain, batch);
  const records = decodeRecords(batch).filter((record) => record.offset >= fromOffset);
  return chain.process(toSmartRecords(records, header.baseOffset, header.firstTimestamp), {
    baseOffset: header.baseOffset,
    baseTimestamp: header.firstTimestamp,
  });
}

/**
 * Merges the outputs of consecutive stored batches into one batch, as
 * Fluvio's SPU does: the base offset is the first contributing batch's, each
 * record keeps its offset relative to that base, and the batch spans every
 * input offset processed (so a consumer resumes after all of them).
 */
export class OutputBatchBuilder {
  private readonly records: SmartRecord[] = [];
  private baseOffset = -1;
  private firstTimestamp = -1;
  private maxTimestamp = -1;
  private lastOffsetDelta = 0;
  private approximateBytes = 0;

  get isEmpty(): boolean {
    return this.records.length === 0;
  }

  get bytes(): number {
    return this.approximateBytes;
  }

  add(input: BatchHeader, output: ChainOutput): void {
    if (output.count === 0 && this.baseOffset < 0) return;
    if (this.baseOffset < 0) {
      this.baseOffset = input.baseOffset;
      this.firstTimestamp = input.firstTimestamp;
    }
    const offsetShift = input.baseOffset - this.baseOffset;
    const timestampShift = this.firstTimestamp > 0 && input.firstTimestamp > 0 ? input.firstTimestamp - this.firstTimestamp : 0;
    for (const record of output.records) {
      this.records.push({ ...record, offsetDelta: record.offsetDelta + offsetShift, timestampDelta: record.timestampDelta + timestampShift });
      this.approximateBytes += record.value.length + (record.key?.length ?? 0) + 16;
      if (this.firstTimestamp > 0) this.maxTimestamp = Math.max(this.maxTimestamp, this.firstTimestamp + record.timestampDelta + timestampShift);
    }
    this.lastOffsetDelta = input.baseOffset + input.lastOffsetDelta - this.baseOffset;
  }

  /** The merged batch (uncompressed), or undefined when every record was filtered out. */
  build(): Buffer | undefined {
    if (this.records.length === 0) return undefined;
    return assembleBatch(encodeRecords(this.records), {
      baseOffset: this.baseOffset,
      lastOffsetDelta: this.lastOffsetDelta,
      firstTimestamp: this.firstTimestamp,
      maxTimestamp: Math.max(this.maxTimestamp, this.firstTimestamp),
      compression: Compression.None,
    });
  }
}

/**
 * A produce-side chain's output for one incoming batch, as the batch to
 * store: new records, so they are numbered 0..n-1 (the store assigns the
 * offsets). Undefined when the chain kept nothing.
 */
export function producedBatch(input: BatchHeader, output: ChainOutput): Buffer | undefined {
  if (output.count === 0) return undefined;
  const records = output.records.map((record, index) => ({ ...record, offsetDelta: index }));
  const maxDelta = Math.max(0, ...records.map((record) => record.timestampDelta));
  return assembleBatch(encodeRecords(records), {
    baseOffset: 0,
    lastOffsetDelta: records.length - 1,
    firstTimestamp: input.firstTimestamp,
    maxTimestamp: input.firstTimestamp > 0 ? input.firstTimestamp + maxDelta : input.maxTimestamp,
    compression: Compression.None,
  });
}
