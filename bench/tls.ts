import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { Freshet, type ClientTlsOptions } from '../src/client/index.js';
import { makeCertificates } from '../test/helpers/certs.js';
import { startChildNode, type ChildNode } from '../test/helpers/child-node.js';
import { removeDir, tempDir } from '../test/helpers/test-node.js';
import { percentile, type LatencyResult, type ThroughputResult } from './fluvio-client.js';
import { benchFreshetClient } from './freshet-client.js';

/**
 * TLS against plain TCP in the same run, each on a node of its own (a child
 * process, as users run it): produce and consume throughput through
 * Freshet's client, and connection set-up time — a bare TCP connect or
 * mutual-TLS handshake to the SC, and a whole client connect (handshake,
 * ApiVersions, close) — over `connections` sequential attempts.
 */
export async function benchTls(scale: number): Promise<string> {
  const dir = await tempDir('freshet-bench-tls-');
  const certs = await makeCertificates(path.join(dir, 'certs'));
  const client = await certs.client('bench');
  const clientTls: ClientTlsOptions = { ca: certs.ca.cert, cert: client.cert, key: client.key };
  let plain: ChildNode | undefined;
  let secured: ChildNode | undefined;
  const results: ThroughputResult[] = [];
  const latencies: LatencyResult[] = [];
  try {
    plain = await startChildNode(path.join(dir, 'plain'));
    secured = await startChildNode(path.join(dir, 'tls'), ['--tls-cert', certs.server.certFile, '--tls-key', certs.server.keyFile, '--tls-ca', certs.ca.certFile]);
    for (const [records, bytes] of [
      [50_000 * scale, 1024],
      [200_000 * scale, 100],
    ] as const) {
      results.push(...(await benchFreshetClient(plain.endpoint, records, bytes, { label: 'plain TCP' })).results);
      results.push(...(await benchFreshetClient(secured.endpoint, records, bytes, { tls: clientTls, label: 'mutual TLS' })).results);
    }
    const connections = 100 * scale;
    latencies.push(await socketSetup('TCP connect to the SC', plain.endpoint, undefined, connections));
    latencies.push(await socketSetup('mutual TLS handshake to the SC', secured.endpoint, clientTls, connections));
    latencies.push(await clientSetup('Freshet.connect + close, plain TCP', plain.endpoint, undefined, connections));
    latencies.push(await clientSetup('Freshet.connect + close, mutual TLS', secured.endpoint, clientTls, connections));
  } finally {
    for (const node of [plain, secured]) {
      if (!node) continue;
      node.process.kill('SIGTERM');
      await node.exited;
    }
    await removeDir(dir);
  }
  const rows = results.map((r) => `| ${r.name} | ${r.records.toLocaleString('en-US')} | ${Math.round(r.recordsPerSecond).toLocaleString('en-US')} | ${r.megabytesPerSecond.toFixed(1)} |`);
  const setup = latencies.map((l) => `| ${l.name} | ${l.samples} | ${l.p50Ms.toFixed(2)} | ${l.p99Ms.toFixed(2)} |`);
  return [
    '### TLS (bench/tls.ts)',
    '',
    '| benchmark | records | records/s | MB/s |',
    '|---|---:|---:|---:|',
    ...rows,
    '',
    '| connection set-up | samples | p50 ms | p99 ms |',
    '|---|---:|---:|---:|',
    ...setup,
    '',
  ].join('\n');
}

function split(endpoint: string): { host: string; port: number } {
  const at = endpoint.lastIndexOf(':');
  return { host: endpoint.slice(0, at), port: Number(endpoint.slice(at + 1)) };
}

async function socketSetup(name: string, endpoint: string, options: ClientTlsOptions | undefined, samples: number): Promise<LatencyResult> {
  const { host, port } = split(endpoint);
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const start = performance.now();
    await new Promise<void>((resolve, reject) => {
      const socket = options ? tls.connect({ host, port, ca: options.ca, cert: options.cert, key: options.key }) : net.connect({ host, port });
      socket.once(options ? 'secureConnect' : 'connect', () => {
        times.push(performance.now() - start);
        socket.destroy();
        resolve();
      });
      socket.once('error', reject);
    });
  }
  return summary(name, times);
}

async function clientSetup(name: string, endpoint: string, options: ClientTlsOptions | undefined, samples: number): Promise<LatencyResult> {
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const start = performance.now();
    const freshet = await Freshet.connect({ endpoint, ...(options ? { tls: options } : {}) });
    await freshet.close();
    times.push(performance.now() - start);
  }
  return summary(name, times);
}

function summary(name: string, times: number[]): LatencyResult {
  const sorted = [...times].sort((a, b) => a - b);
  return { name, samples: sorted.length, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99) };
}
