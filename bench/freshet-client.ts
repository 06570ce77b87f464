import { Freshet, type ClientTlsOptions } from '../src/client/index.js';
import { percentile, throughput, type LatencyResult, type ThroughputResult } from './fluvio-client.js';

/**
 * Produce then consume `records` values of `recordBytes` each through
 * Freshet's own client, as `benchFluvioClient` does through @fluvio/client:
 * sends are not awaited one by one (up to 2 MiB of records in flight: two
 * full produce requests; default producer options), and each send's time to
 * acknowledgement is recorded.
 */
export async function benchFreshetClient(
  endpoint: string,
  records: number,
  recordBytes: number,
  options: { tls?: ClientTlsOptions; label?: string } = {},
): Promise<{ results: ThroughputResult[]; latency: LatencyResult }> {
  const freshet = await Freshet.connect({ endpoint, ...(options.tls ? { tls: options.tls } : {}) });
  const label = options.label ? ` ${options.label}` : '';
  const topic = `bench-freshet-${recordBytes}-${Date.now()}`;
  await freshet.admin.createTopic(topic);
  const producer = await freshet.producer(topic);
  const value = Buffer.alloc(recordBytes, 0x78);
  const window = Math.floor((2 * 1024 * 1024) / recordBytes);
  const latencies = new Float64Array(records);
  let inflight = 0;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const produceStart = process.hrtime.bigint();
  for (let i = 0; i < records; i++) {
    const sent = performance.now();
    inflight++;
    producer.sendRecord({ value }).then(
      () => {
        latencies[i] = performance.now() - sent;
        if (--inflight <= window / 2 && wake) wake();
      },
      (err: unknown) => {
        failure ??= err;
        if (--inflight <= window / 2 && wake) wake();
      },
    );
    if (inflight >= window) await new Promise<void>((resolve) => (wake = resolve));
    wake = undefined;
  }
  await producer.flush();
  const produceSeconds = Number(process.hrtime.bigint() - produceStart) / 1e9;
  if (failure) throw failure;

  const consumeStart = process.hrtime.bigint();
  let received = 0;
  for await (const _record of await freshet.consumer(topic, { offset: 'beginning', continuous: false })) received++;
  const consumeSeconds = Number(process.hrtime.bigint() - consumeStart) / 1e9;
  if (received !== records) throw new Error(`consumed ${received} of ${records}`);
  await freshet.admin.deleteTopic(topic);
  await freshet.close();
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    results: [
      throughput(`Freshet client produce ${recordBytes} B${label}`, records, recordBytes, produceSeconds),
      throughput(`Freshet client consume ${recordBytes} B${label}`, records, recordBytes, consumeSeconds),
    ],
    latency: { name: `Freshet client produce ${recordBytes} B${label}, send → ack at full rate`, samples: records, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99) },
  };
}

/** Produce-to-consume latency on a tailing stream, one record at a time (as benchFluvioTailLatency). */
export async function benchFreshetTailLatency(endpoint: string, samples: number): Promise<LatencyResult> {
  const freshet = await Freshet.connect({ endpoint });
  const topic = `bench-freshet-tail-${Date.now()}`;
  await freshet.admin.createTopic(topic);
  const producer = await freshet.producer(topic);
  // The topic is empty: reading from the beginning misses nothing sent before the stream is open.
  const iterator = (await freshet.consumer(topic, { offset: 'beginning' }))[Symbol.asyncIterator]();
  const latencies: number[] = [];
  for (let i = 0; i < samples; i++) {
    const start = process.hrtime.bigint();
    const sent = producer.send(null, String(i));
    await producer.flush();
    await sent;
    const next = await iterator.next();
    latencies.push(Number(process.hrtime.bigint() - start) / 1e6);
    if (next.done || next.value.valueString() !== String(i)) throw new Error(`expected ${i}, got ${next.done ? 'the end' : next.value.valueString()}`);
  }
  await iterator.return?.();
  await freshet.admin.deleteTopic(topic);
  await freshet.close();
  latencies.sort((a, b) => a - b);
  return { name: 'Freshet client produce → tailing consumer', samples, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) };
}
