import { createRequire } from 'node:module';

/** The real @fluvio/client (a native build of Fluvio's Rust client), loaded from CommonJS. */
const require = createRequire(import.meta.url);
const fluvioModule = require('@fluvio/client') as typeof import('@fluvio/client');
export const Fluvio = fluvioModule.default;
export const Offset = fluvioModule.Offset;
export type FluvioClient = Awaited<ReturnType<typeof Fluvio.connect>>;

export async function connectFluvio(endpoint: string): Promise<FluvioClient> {
  const [host, port] = endpoint.split(':');
  return Fluvio.connect({ host, port: Number(port) });
}

/** Reads `count` records from an async iterable stream, with a deadline so a bug fails instead of hanging. */
export async function take<T>(stream: AsyncIterable<T>, count: number, timeoutMs = 20_000): Promise<T[]> {
  const out: T[] = [];
  if (count === 0) return out;
  const iterator = stream[Symbol.asyncIterator]();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${out.length} of ${count} records`)), timeoutMs);
  });
  try {
    while (out.length < count) {
      const next = await Promise.race([iterator.next(), deadline]);
      if (next.done) break;
      out.push(next.value);
    }
  } finally {
    clearTimeout(timer);
  }
  return out;
}
