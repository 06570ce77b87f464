// Helpers for the dataflow tests: read what a dataflow wrote, wait for a state.

import type { Freshet } from '../../src/client/index.js';

/** Every record stored in the topic now, partition by partition, parsed as JSON. */
export async function readAllJson(client: Freshet, topic: string): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const p of await client.admin.listPartitions(topic)) {
    if (p.highWatermark === 0) continue;
    const consumer = await client.consumer(topic, { partition: p.partition, offset: 'beginning', continuous: false });
    for await (const record of consumer) out.push(record.json());
  }
  return out;
}

/** Polls `probe` every 100 ms until it gives a value; throws after `timeoutMs`. */
export async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
