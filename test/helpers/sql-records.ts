// SinkRecords for the SQL sink tests: json-sql model records and plain JSON.

import type { SinkRecord } from '../../src/connectors/connector.js';

let offset = 0;

/** A record as the runtime hands it to a sink (offsets increase across calls). */
export function record(value: unknown, key: string | null = null): SinkRecord {
  return {
    topic: 'events',
    partition: 0,
    offset: offset++,
    timestamp: Date.now(),
    key: key === null ? null : Buffer.from(key),
    value: Buffer.isBuffer(value) ? value : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
  };
}

export type Cell = [column: string, raw: string | null, type: string];

/** json-sql's Insert output. */
export const insert = (table: string, cells: Cell[]) => ({ Insert: { table, values: cells.map(([column, raw_value, type]) => ({ column, raw_value, type })) } });

/** json-sql's Upsert output (uniq_idx = the unique columns joined with commas). */
export const upsert = (table: string, uniq: string, cells: Cell[]) => ({
  Upsert: { table, values: cells.map(([column, raw_value, type]) => ({ column, raw_value, type })), uniq_idx: uniq },
});
