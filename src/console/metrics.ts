// Prometheus metrics of a node (`GET /metrics` on the console), through
// prom-client with a registry of the node's own (several nodes can live in
// one process: tests). Everything is read when scraped, from what the node
// already keeps: no bookkeeping on the data path.
//
//   freshet_sc_connections, freshet_spu_connections, freshet_stream_fetches,
//   freshet_queued_response_bytes                       node sessions
//   freshet_topics, freshet_partition_high_watermark{topic,partition},
//   freshet_partition_size_bytes{topic,partition}        storage
//   freshet_dataflow_up{dataflow}                        1 running, 0 otherwise
//   freshet_dataflow_<metric>_total{dataflow,service}    engine counters (records,
//                                                        items, filtered, failed, late,
//                                                        windows_closed, window_results,
//                                                        correlations, filled_results, refused,
//                                                        keys_retired, keys_evicted)
//   freshet_dataflow_keys{dataflow,service}, freshet_dataflow_groups   state held now
//   freshet_dataflow_watermark_seconds{dataflow,service}
//   freshet_connector_up{connector,type}, freshet_connector_records_total,
//   freshet_connector_dead_letters_total, freshet_connector_restarts_total
//   freshet_auth_denials_total{resource,operation}       requests the ACLs refused
//   freshet_auth_failed_logins_total, freshet_auth_locked_out_logins_total
//   + prom-client's default process metrics (freshet_process_*, freshet_nodejs_*)

import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';

/** What the console reads; each source is optional. */
export interface MetricsSources {
  node?: () => { scConnections: number; spuConnections: number; streamFetches: number; queuedResponseBytes: number };
  partitions?: () => { topic: string; partition: number; highWatermark: number; sizeBytes: number }[];
  topics?: () => number;
  dataflows?: () => {
    name: string;
    running: boolean;
    services: { service: string; watermark: number | null; metrics: object }[];
  }[];
  connectors?: () => { name: string; type: string; running: boolean; records: number; deadLetters: number; restarts: number }[];
  /** Authorization denials by `resource:operation`, failed logins, and attempts refused during a lockout. */
  auth?: () => { denials: ReadonlyMap<string, number>; failedLogins: number; lockedOutLogins: number };
}

const DATAFLOW_COUNTERS: [metric: string, field: string, help: string][] = [
  ['records', 'records', 'input records taken'],
  ['items', 'items', 'items that reached the window (or the sinks)'],
  ['filtered', 'filtered', 'records the operators dropped'],
  ['failed', 'failed', 'records skipped because decoding or an operator failed'],
  ['late', 'late', 'items no open window would take'],
  ['windows_closed', 'windowsClosed', 'windows closed'],
  ['window_results', 'windowResults', 'window results emitted (one per key and window)'],
  ['correlations', 'correlations', 'correlation results emitted'],
  ['filled_results', 'filledResults', 'window results filled for keys without events in the step'],
  ['refused', 'refused', 'items refused by a state limit (max-keys, max-groups, max-pairs)'],
  ['keys_retired', 'keysRetired', 'keys whose state was freed after retire-after steps without events'],
  ['keys_evicted', 'keysEvicted', 'keys whose state was freed to make room under max-keys'],
];

/** Sets a counter to values read elsewhere (prom-client counters only go up: reset, then add). */
function setCounter<T extends string>(counter: Counter<T>, rows: { labels: Record<T, string>; value: number }[]): void {
  counter.reset();
  for (const row of rows) if (Number.isFinite(row.value) && row.value >= 0) counter.inc(row.labels, row.value);
}

export function createMetrics(sources: MetricsSources): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'freshet_' });

  if (sources.node) {
    const read = sources.node;
    const gauge = (name: string, help: string, pick: (s: ReturnType<typeof read>) => number) =>
      new Gauge({
        name,
        help,
        registers: [registry],
        collect() {
          this.set(pick(read()));
        },
      });
    gauge('freshet_sc_connections', 'open SC connections', (s) => s.scConnections);
    gauge('freshet_spu_connections', 'open SPU connections', (s) => s.spuConnections);
    gauge('freshet_stream_fetches', 'stream fetch sessions running', (s) => s.streamFetches);
    gauge('freshet_queued_response_bytes', 'response bytes queued in user space for all sockets', (s) => s.queuedResponseBytes);
  }
  if (sources.topics) {
    const read = sources.topics;
    new Gauge({
      name: 'freshet_topics',
      help: 'topics',
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  }
  if (sources.partitions) {
    const read = sources.partitions;
    const perPartition = (name: string, help: string, pick: (p: ReturnType<typeof read>[number]) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['topic', 'partition'],
        registers: [registry],
        collect() {
          this.reset();
          for (const p of read()) this.set({ topic: p.topic, partition: String(p.partition) }, pick(p));
        },
      });
    perPartition('freshet_partition_high_watermark', 'offset of the next record of a partition', (p) => p.highWatermark);
    perPartition('freshet_partition_size_bytes', 'bytes a partition holds on disk', (p) => p.sizeBytes);
  }
  if (sources.dataflows) {
    const read = sources.dataflows;
    new Gauge({
      name: 'freshet_dataflow_up',
      help: '1 when the dataflow is running',
      labelNames: ['dataflow'],
      registers: [registry],
      collect() {
        this.reset();
        for (const flow of read()) this.set({ dataflow: flow.name }, flow.running ? 1 : 0);
      },
    });
    new Gauge({
      name: 'freshet_dataflow_watermark_seconds',
      help: 'event-time watermark of a dataflow service',
      labelNames: ['dataflow', 'service'],
      registers: [registry],
      collect() {
        this.reset();
        for (const flow of read()) for (const s of flow.services) if (s.watermark !== null) this.set({ dataflow: flow.name, service: s.service }, s.watermark / 1000);
      },
    });
    for (const [metric, field, help] of [['keys', 'keys', 'keys with state'], ['groups', 'groups', 'groups with keys']] as const) {
      new Gauge({
        name: `freshet_dataflow_${metric}`,
        help,
        labelNames: ['dataflow', 'service'],
        registers: [registry],
        collect() {
          this.reset();
          for (const flow of read()) for (const s of flow.services) this.set({ dataflow: flow.name, service: s.service }, Number((s.metrics as Record<string, unknown>)[field] ?? 0));
        },
      });
    }
    for (const [metric, field, help] of DATAFLOW_COUNTERS) {
      new Counter({
        name: `freshet_dataflow_${metric}_total`,
        help,
        labelNames: ['dataflow', 'service'],
        registers: [registry],
        collect() {
          setCounter(
            this,
            read().flatMap((flow) => flow.services.map((s) => ({ labels: { dataflow: flow.name, service: s.service }, value: Number((s.metrics as Record<string, unknown>)[field] ?? 0) }))),
          );
        },
      });
    }
  }
  if (sources.connectors) {
    const read = sources.connectors;
    new Gauge({
      name: 'freshet_connector_up',
      help: '1 when the connector is running',
      labelNames: ['connector', 'type'],
      registers: [registry],
      collect() {
        this.reset();
        for (const c of read()) this.set({ connector: c.name, type: c.type }, c.running ? 1 : 0);
      },
    });
    const counter = (name: string, help: string, pick: (c: ReturnType<typeof read>[number]) => number) =>
      new Counter({
        name,
        help,
        labelNames: ['connector', 'type'],
        registers: [registry],
        collect() {
          setCounter(this, read().map((c) => ({ labels: { connector: c.name, type: c.type }, value: pick(c) })));
        },
      });
    counter('freshet_connector_records_total', 'records a connector moved', (c) => c.records);
    counter('freshet_connector_dead_letters_total', 'records sent to the dead-letter topic', (c) => c.deadLetters);
    counter('freshet_connector_restarts_total', 'connector restarts', (c) => c.restarts);
  }
  if (sources.auth) {
    const read = sources.auth;
    new Counter({
      name: 'freshet_auth_denials_total',
      help: 'requests the ACLs refused',
      labelNames: ['resource', 'operation'],
      registers: [registry],
      collect() {
        const rows = [...read().denials].map(([key, value]) => {
          const [resource = '', operation = ''] = key.split(':');
          return { labels: { resource, operation }, value };
        });
        setCounter(this, rows);
      },
    });
    const total = (name: string, help: string, pick: (a: ReturnType<typeof read>) => number) =>
      new Counter({
        name,
        help,
        registers: [registry],
        collect() {
          this.reset();
          this.inc(pick(read()));
        },
      });
    total('freshet_auth_failed_logins_total', 'logins with a wrong token or password', (a) => a.failedLogins);
    total('freshet_auth_locked_out_logins_total', 'login attempts refused while their address or user was locked out', (a) => a.lockedOutLogins);
  }
  return registry;
}
