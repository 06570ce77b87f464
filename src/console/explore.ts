// What the console's topic browser and pipeline graph read, through a
// client of the node's own SC (connected on first use):
//
//   GET /api/topics                         topics with their partitions' log ends
//   GET /api/topics/:name/records           the latest records of a partition (?partition=P&limit=N, at most
//                                           200), or the latest whose key contains ?key=K (scanning back at
//                                           most 10,000 records); values parsed as JSON when they are JSON
//   GET /api/topics/:name/live              new records of every partition as Server-Sent Events
//                                           (`event: record`), while the page listens (at most 16 at once)
//   GET /api/pipeline                       connectors → topics → dataflows → topics → sinks: nodes and
//                                           edges, each edge with its record rate (records/s between two
//                                           calls: topic log ends, dataflow and connector counters)

import type { FastifyInstance } from 'fastify';
import { Freshet, type ConsumerRecord } from '../client/index.js';
import type { ConnectorManager } from '../connectors/index.js';
import type { DataflowHost } from '../dataflow/index.js';

const MAX_RECORDS = 200;
const MAX_SCAN = 10_000;
const MAX_LIVE = 16;

export interface ExploreOptions {
  /** The node's SC endpoint (host:port). */
  endpoint: () => string;
  dataflows?: DataflowHost;
  connectors?: ConnectorManager;
}

export interface RecordView {
  partition: number;
  offset: number;
  timestamp: number;
  key: string | null;
  value: unknown;
  /** Whether value is parsed JSON (else the text). */
  json: boolean;
}

function view(record: ConsumerRecord): RecordView {
  const text = record.valueString();
  try {
    return { partition: record.partition, offset: record.offset, timestamp: record.timestamp, key: record.keyString(), value: JSON.parse(text), json: true };
  } catch {
    return { partition: record.partition, offset: record.offset, timestamp: record.timestamp, key: record.keyString(), value: text, json: false };
  }
}

export interface PipelineNode {
  id: string;
  kind: 'source' | 'topic' | 'dataflow' | 'sink';
  name: string;
  state?: string;
}

export interface PipelineEdge {
  from: string;
  to: string;
  /** Records/s since the previous call; null on the first. */
  rate: number | null;
}

/** Rates of counters between two readings. */
class Rates {
  private readonly last = new Map<string, { at: number; value: number }>();
  rate(id: string, value: number, now: number): number | null {
    const previous = this.last.get(id);
    this.last.set(id, { at: now, value });
    if (!previous || now <= previous.at) return null;
    return Math.max(0, ((value - previous.value) * 1000) / (now - previous.at));
  }
}

export function registerExploreRoutes(app: FastifyInstance, options: ExploreOptions): { close(): Promise<void> } {
  let client: Promise<Freshet> | undefined;
  const connect = () => (client ??= Freshet.connect({ endpoint: options.endpoint(), clientId: 'freshet-console' }));
  const rates = new Rates();
  const live = new Set<() => Promise<void>>();

  const partitions = async (topic: string) => (await (await connect()).admin.listPartitions(topic)).sort((a, b) => a.partition - b.partition);

  app.get('/api/topics', async () => {
    const admin = (await connect()).admin;
    const all = await admin.listPartitions();
    const topics = new Map<string, { partition: number; highWatermark: number }[]>();
    for (const p of all) {
      let list = topics.get(p.topic);
      if (!list) topics.set(p.topic, (list = []));
      list.push({ partition: p.partition, highWatermark: p.highWatermark });
    }
    return [...topics].sort(([a], [b]) => a.localeCompare(b)).map(([name, ps]) => ({ name, partitions: ps.sort((a, b) => a.partition - b.partition) }));
  });

  app.get<{ Params: { name: string }; Querystring: { partition?: string; limit?: string; key?: string } }>('/api/topics/:name/records', async (req, reply) => {
    const limit = Math.max(1, Math.min(MAX_RECORDS, Number(req.query.limit ?? 50) || 50));
    const all = await partitions(req.params.name).catch(() => []);
    const p = all.find((x) => x.partition === Number(req.query.partition ?? 0));
    if (!p) return reply.code(404).send({ error: `no partition ${req.query.partition ?? 0} of topic "${req.params.name}"` });
    const key = req.query.key ?? '';
    const end = p.highWatermark;
    const from = Math.max(p.baseOffset, end - (key === '' ? limit : MAX_SCAN));
    const records: RecordView[] = [];
    if (end > from) {
      const consumer = await (await connect()).consumer(req.params.name, { partition: p.partition, offset: { absolute: from }, end: end - 1, continuous: false });
      for await (const record of consumer) {
        if (key !== '' && !(record.keyString() ?? '').includes(key)) continue;
        records.push(view(record));
        if (records.length > limit) records.shift();
      }
    }
    return { topic: req.params.name, partition: p.partition, highWatermark: end, scanned: end - from, records: records.reverse() };
  });

  app.get<{ Params: { name: string } }>('/api/topics/:name/live', async (req, reply) => {
    if (live.size >= MAX_LIVE) return reply.code(503).send({ error: `at most ${MAX_LIVE} live topic views at once` });
    const ps = await partitions(req.params.name).catch(() => []);
    if (ps.length === 0) return reply.code(404).send({ error: `no topic "${req.params.name}"` });
    const c = await connect();
    const consumers = await Promise.all(ps.map((p) => c.consumer(req.params.name, { partition: p.partition, offset: { absolute: p.highWatermark } })));
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.write(': live\n\n');
    const close = async () => {
      live.delete(close);
      await Promise.allSettled(consumers.map((x) => x.close()));
      res.end();
    };
    live.add(close);
    req.raw.on('close', () => void close());
    for (const consumer of consumers) {
      void (async () => {
        try {
          for await (const record of consumer) {
            // A slow page loses records rather than holding them in memory.
            if (res.writableLength < 1 << 20) res.write(`event: record\ndata: ${JSON.stringify(view(record))}\n\n`);
          }
        } catch {
          // Closed.
        }
      })();
    }
  });

  app.get('/api/pipeline', async () => {
    const now = Date.now();
    const nodes = new Map<string, PipelineNode>();
    const edges: PipelineEdge[] = [];
    const topicRate = new Map<string, number | null>();
    const all = await (await connect()).admin.listPartitions();
    const ends = new Map<string, number>();
    for (const p of all) ends.set(p.topic, (ends.get(p.topic) ?? 0) + p.highWatermark);
    for (const [topic, end] of ends) {
      nodes.set(`topic:${topic}`, { id: `topic:${topic}`, kind: 'topic', name: topic });
      topicRate.set(topic, rates.rate(`topic:${topic}`, end, now));
    }
    const topicNode = (topic: string) => {
      const id = `topic:${topic}`;
      if (!nodes.has(id)) nodes.set(id, { id, kind: 'topic', name: topic });
      return id;
    };
    for (const c of options.connectors?.list() ?? []) {
      const id = `${c.kind}:${c.name}`;
      nodes.set(id, { id, kind: c.kind, name: c.name, state: c.status.state });
      const records = rates.rate(`connector:${c.name}`, c.stats.records, now);
      if (c.kind === 'source') edges.push({ from: id, to: topicNode(c.topic), rate: records });
      else edges.push({ from: topicNode(c.topic), to: id, rate: records });
    }
    for (const d of options.dataflows?.list() ?? []) {
      const runtime = options.dataflows?.runtime(d.name);
      const id = `dataflow:${d.name}`;
      nodes.set(id, { id, kind: 'dataflow', name: d.name, state: d.state });
      if (!runtime) continue;
      const statuses = new Map(runtime.status().services.map((s) => [s.service, s]));
      let inputs = 0;
      for (const s of statuses.values()) inputs += s.metrics.records;
      const inRate = rates.rate(id, inputs, now);
      const sources = new Set<string>();
      const sinks = new Set<string>();
      for (const service of runtime.spec.services) {
        for (const s of service.sources) sources.add(s.topic);
        for (const s of service.sinks) sinks.add(s.topic);
        if (service.window?.late.policy === 'side-output') sinks.add(service.window.late.topic);
      }
      for (const topic of sources) edges.push({ from: topicNode(topic), to: id, rate: sources.size === 1 ? inRate : null });
      for (const topic of sinks) edges.push({ from: id, to: topicNode(topic), rate: topicRate.get(topic) ?? null });
    }
    return { nodes: [...nodes.values()], edges };
  });

  return {
    async close() {
      await Promise.allSettled([...live].map((close) => close()));
      if (client) await (await client).close().catch(() => {});
    },
  };
}
