// Exactly once across SIGKILL: `freshet dataflow run` is killed (-9) several
// times while a producer writes a deterministic event set, and restarted.
// At the end, every window's count, sum and max equal a batch recomputation
// over the same input (the steps filled after the last events hold 0, 0 and
// null), every expected result is in the output topic once
// (no id twice), and the dataflow counted each input record once.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Freshet } from '../../src/client/index.js';
import type { CorrelationResult, WindowResult } from '../../src/dataflow/engine.js';
import { freshetBin, repoRoot } from '../helpers/child-node.js';
import { readAllJson } from '../helpers/dataflow.js';
import { removeDir, startTestNode, tempDir } from '../helpers/test-node.js';

const YAML = `
apiVersion: 0.5.0
meta: { name: crashy }
config:
  consumer: { default_starting_offset: { position: Beginning, value: 0 } }
  checkpoint: { interval: 300ms, records: 400 }
topics:
  events: { partitions: 2 }
  results: { partitions: 2 }
services:
  agg:
    sources: [{ type: topic, id: events }]
    window:
      tumbling: { duration: 1s }
      assign-timestamp: $.ts
      partition:
        assign-key: $.product
        group: $.brand
        aggregate:
          n: count
          total: { sum: $.price }
          hi: { max: $.price }
    series:
      of: total
      delta: true
      correlation: { windows: 5, within: group }
    retire-after: 3
    sinks: [{ type: topic, id: results }]
`;

const BASE = 1_700_000_000_000;
const N = 6000;
const CHUNK = 75;
const FLUSH_TS = BASE + 3_600_000;
/** Every product has events in every step of the set; after the last, each is filled for retire-after (3) steps, then freed. */
const FILLED = 40 * 3;

interface Ev {
  ts: number;
  product: string;
  brand: string;
  price: number;
}

function event(i: number): Ev {
  const p = (i * 7) % 40;
  return { ts: BASE + i * 5, product: `p${p}`, brand: `b${p % 5}`, price: ((i * 13) % 50) + 1 };
}

/** The batch recomputation: count, sum and max per product and 1 s window. */
function recompute(): Map<string, { n: number; total: number; hi: number }> {
  const out = new Map<string, { n: number; total: number; hi: number }>();
  for (let i = 0; i < N; i++) {
    const ev = event(i);
    const id = `${ev.product}@${ev.ts - (ev.ts % 1000)}`;
    const acc = out.get(id) ?? { n: 0, total: 0, hi: -Infinity };
    acc.n++;
    acc.total += ev.price;
    acc.hi = Math.max(acc.hi, ev.price);
    out.set(id, acc);
  }
  return out;
}

describe('dataflow e2e: exactly once across SIGKILL', () => {
  let node: Awaited<ReturnType<typeof startTestNode>>;
  let dir: string;
  let client: Freshet;
  let child: ChildProcess | undefined;
  const logs: string[] = [];

  before(async () => {
    node = await startTestNode();
    dir = await tempDir('freshet-df-kill-');
    await writeFile(path.join(dir, 'dataflow.yaml'), YAML);
    client = await Freshet.connect({ endpoint: node.endpoint });
    await client.admin.createTopic('events', { partitions: 2 });
    await client.admin.createTopic('results', { partitions: 2 });
  });

  after(async () => {
    child?.kill('SIGKILL');
    await client?.close();
    await node?.stop();
    await removeDir(node.dataDir);
    await removeDir(dir);
  });

  function start(): Promise<{ child: ChildProcess; http: string; exited: Promise<unknown> }> {
    const env: NodeJS.ProcessEnv = { ...process.env, FRESHET_LOG: 'info' };
    delete env.NODE_TEST_CONTEXT;
    const proc = spawn(process.execPath, [freshetBin, '-c', node.endpoint, 'dataflow', 'run', '--config', path.join(dir, 'dataflow.yaml'), '--dir', path.join(dir, 'state')], {
      cwd: repoRoot,
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child = proc;
    let stderr = '';
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise((resolve) => proc.on('exit', resolve));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`dataflow did not start:\n${stderr}`)), 30_000);
      proc.stderr!.on('data', () => {
        const m = /state: http:\/\/([^/]+)\//.exec(stderr);
        if (m) {
          clearTimeout(timer);
          logs.push(stderr);
          proc.stderr!.on('data', () => (logs[logs.length - 1] = stderr));
          resolve({ child: proc, http: m[1], exited });
        }
      });
      void exited.then((code) => reject(new Error(`dataflow exited with ${String(code)}:\n${stderr}`)));
    });
  }

  it('restores, replays and deduplicates: final windows equal a batch recomputation, no result twice', async (t) => {
    const producer = await client.producer('events', { lingerMs: 1 });
    let produced = 0;
    const producing = (async () => {
      for (let i = 0; i < N; i += CHUNK) {
        for (let j = i; j < Math.min(N, i + CHUNK); j++) void producer.send(null, JSON.stringify(event(j)), { partition: j % 2 });
        await producer.flush();
        produced = Math.min(N, i + CHUNK);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();

    // Kill -9 three times, at different points of the stream.
    const kills: number[] = [];
    for (const wait of [700, 450, 900]) {
      const run = await start();
      await new Promise((resolve) => setTimeout(resolve, wait));
      run.child.kill('SIGKILL');
      await run.exited;
      kills.push(produced);
    }
    t.diagnostic(`killed with ${kills.join(', ')} of ${N} events produced`);
    assert.ok(kills[0] < N, 'the first kill happened mid-stream');

    const run = await start();
    await producing;
    // One far-future event per partition moves the watermark past every window of the set.
    await producer.send(null, JSON.stringify({ ts: FLUSH_TS, product: 'flush', brand: 'none', price: 0 }), { partition: 0 });
    await producer.send(null, JSON.stringify({ ts: FLUSH_TS, product: 'flush', brand: 'none', price: 0 }), { partition: 1 });
    await producer.flush();

    const expected = recompute();
    const deadline = Date.now() + 30_000;
    let windows: WindowResult[];
    let correlations: CorrelationResult[];
    for (;;) {
      const all = (await readAllJson(client, 'results')) as (WindowResult | CorrelationResult)[];
      windows = all.filter((r): r is WindowResult => r.type === 'window');
      correlations = all.filter((r): r is CorrelationResult => r.type === 'correlation');
      if (windows.length >= expected.size + FILLED || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }

    const ids = windows.map((w) => w.id);
    assert.equal(new Set(ids).size, ids.length, 'a window result was stored twice');
    const corrIds = correlations.map((c) => c.id);
    assert.equal(new Set(corrIds).size, corrIds.length, 'a correlation result was stored twice');
    const filled = windows.filter((w) => w.filled);
    assert.equal(filled.length, FILLED, 'three filled steps per product after the last events');
    for (const w of filled) assert.deepEqual(w.values, { n: 0, total: 0, hi: null }, `filled ${w.id}`);
    const actual = new Map(windows.filter((w) => !w.filled).map((w) => [`${w.key}@${w.windowStart}`, w.values]));
    assert.equal(actual.size, expected.size, 'every window result is there');
    for (const [id, values] of expected) assert.deepEqual(actual.get(id), values, `window ${id}`);

    // Each input record was counted once (metrics live in the checkpointed state).
    const status = (await (await fetch(`http://${run.http}/dataflows/crashy`)).json()) as {
      services: { metrics: { records: number; late: number }; inputs: { partition: number; next: number }[] }[];
    };
    assert.equal(status.services[0].metrics.records, N + 2);
    assert.equal(status.services[0].metrics.late, 0);
    assert.deepEqual(status.services[0].inputs.map((i) => i.next), [N / 2 + 1, N / 2 + 1]);

    const restores = logs.join('\n').match(/"deduplicate":\d+/g) ?? [];
    assert.equal(restores.length, 3, 'each restart restored a checkpoint');
    t.diagnostic(`results found stored after the checkpoint and skipped on replay: ${restores.map((r) => r.split(':')[1]).join(', ')}`);

    run.child.kill('SIGTERM');
    await run.exited;
  });
});
