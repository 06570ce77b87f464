// `npm start`: a Freshet node on the embedded default (one process, local
// disk) with the marketplace example running in it:
//
//   simulator (simulator.ts, a marketplace API on 127.0.0.1:9090)
//     → http-source connector marketplace-products (polls it every second;
//       SmartModules split, filter and reshape the JSON)   topic marketplace-changes
//     → dataflow marketplace (dataflow.yaml: changes per product per 5 s step,
//       deltas, within-brand correlations)                topics marketplace-windows,
//                                                          marketplace-correlations
//     → sql-sink connectors → SQLite (schema.sql)          marketplace.db
//     → the console's live plots                           http://127.0.0.1:9080
//
// The example has a data dir of its own (~/.freshet/examples/marketplace),
// so that `npx freshet cluster start` still starts an empty node on the
// default one. Run again, it resumes: the connectors and the dataflow are
// stored in the node and kept when their definitions did not change.
//
//   node --import tsx examples/marketplace/start.ts [--data-dir DIR] [--db FILE] [--sc-port 9003]
//     [--spu-port 9005] [--console-port 9080] [--simulator-port 9090] [--products 2000]
//     [--step 5s] [--tick 500ms] [--fresh]

import { mkdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import pino, { type Logger } from 'pino';
import { parseDocument } from 'yaml';
import { Freshet } from '../../src/client/index.js';
import { parseDuration } from '../../src/dataflow/duration.js';
import { defaultNodeConfig, startNode, stopOnSignals, type RunningNode } from '../../src/node/index.js';
import { startSimulator, type RunningSimulator } from './simulator.js';

export const EXAMPLE_DIR = path.dirname(fileURLToPath(import.meta.url));
export const DATAFLOW = 'marketplace';
export const OUTPUT_TOPICS = ['marketplace-windows', 'marketplace-correlations'];
const CONNECTOR_FILES = ['connectors/products-source.yaml', 'connectors/windows-sink.yaml', 'connectors/correlations-sink.yaml'];

export interface MarketplaceOptions {
  /** The node's data dir. */
  dataDir: string;
  /** The SQLite database the sinks write to. */
  dbFile: string;
  /** 0: free ports (tests). */
  scPort: number;
  spuPort: number;
  consolePort: number;
  simulatorPort: number;
  /** Products in the simulated catalogue (default 2000). */
  products?: number;
  /** The dataflow's time step (window), e.g. '5s' (the YAML's) or '1s'. */
  step?: string;
  /** The simulator's tick (default 500 ms). */
  tickMs?: number;
  seed?: number;
  logger?: Logger;
}

export interface RunningMarketplace {
  node: RunningNode;
  simulator: RunningSimulator;
  dbFile: string;
  consoleUrl: string;
  stop(): Promise<void>;
}

/** The YAML of a file of the example with some keys replaced (the files stay valid as they are). */
async function edited(file: string, changes: [path: string[], value: unknown][]): Promise<string> {
  const doc = parseDocument(await readFile(path.join(EXAMPLE_DIR, file), 'utf8'));
  for (const [at, value] of changes) doc.setIn(at, value);
  return doc.toString();
}

async function createSchema(dbFile: string): Promise<void> {
  const { default: Database } = await import('better-sqlite3');
  await mkdir(path.dirname(dbFile), { recursive: true });
  const db = new Database(dbFile);
  try {
    db.pragma('journal_mode = WAL');
    db.exec(await readFile(path.join(EXAMPLE_DIR, 'schema.sql'), 'utf8'));
  } finally {
    db.close();
  }
}

/** Starts the simulator, the node, and (creating or keeping them) the connectors and the dataflow. */
export async function startMarketplace(options: MarketplaceOptions): Promise<RunningMarketplace> {
  const dbFile = path.resolve(options.dbFile);
  await createSchema(dbFile);
  const simulator = await startSimulator({
    port: options.simulatorPort,
    ...(options.products !== undefined ? { products: options.products } : {}),
    ...(options.tickMs !== undefined ? { tickMs: options.tickMs } : {}),
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
  });
  let node: RunningNode | undefined;
  try {
    node = await startNode(
      defaultNodeConfig({
        dataDir: options.dataDir,
        scPort: options.scPort,
        spuPort: options.spuPort,
        console: { port: options.consolePort },
        ...(options.logger ? { logger: options.logger } : {}),
      }),
    );
    if (!node.consoleUrl || !node.dataflows || !node.connectors) throw new Error('the example needs the console, dataflows and connectors of the node');

    // Output topics first, with a retention: the example may run for hours.
    const client = await Freshet.connect({ endpoint: node.endpoint });
    try {
      const existing = new Set((await client.admin.listTopics()).map((t) => t.name));
      for (const topic of OUTPUT_TOPICS) {
        if (!existing.has(topic)) await client.admin.createTopic(topic, { retentionSeconds: 3600, segmentSize: 16 * 1024 * 1024 });
      }
    } finally {
      await client.close();
    }

    const sqliteUrl = `sqlite://${dbFile}`;
    const configs = await Promise.all(
      CONNECTOR_FILES.map((file) =>
        edited(
          file,
          file.endsWith('products-source.yaml')
            ? [[['http', 'endpoint'], `${simulator.url}/api/v1/products/changes?feed=freshet&limit=5000`]]
            : [[['sql', 'url'], sqliteUrl]],
        ),
      ),
    );
    const manager = node.connectors.manager;
    for (const config of configs) {
      const name = String(parseDocument(config).getIn(['meta', 'name']));
      const current = manager.list().find((c) => c.name === name);
      if (current && manager.describe(name).config === config) continue;
      if (current) await manager.delete(name);
      await manager.create({ config });
    }

    const step = options.step;
    const dataflowYaml = await edited('dataflow.yaml', step ? [[['services', 'products', 'window', 'tumbling', 'duration'], step]] : []);
    if (step) parseDuration(step);
    const flows = node.dataflows;
    if (flows.definition(DATAFLOW) !== dataflowYaml) {
      if (flows.describe(DATAFLOW)) await flows.delete(DATAFLOW);
      await flows.create(dataflowYaml, { baseDir: EXAMPLE_DIR });
    } else if (!flows.runtime(DATAFLOW)) {
      await flows.start(DATAFLOW).catch(() => {});
    }
  } catch (err) {
    await node?.stop().catch(() => {});
    await simulator.close();
    throw err;
  }
  const running = node;
  return {
    node: running,
    simulator,
    dbFile,
    consoleUrl: running.consoleUrl!,
    async stop() {
      await running.stop();
      await simulator.close();
    },
  };
}

export function defaultExampleDir(): string {
  return path.join(os.homedir(), '.freshet', 'examples', 'marketplace');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'data-dir': { type: 'string' },
      db: { type: 'string' },
      'sc-port': { type: 'string', default: '9003' },
      'spu-port': { type: 'string', default: '9005' },
      'console-port': { type: 'string', default: '9080' },
      'simulator-port': { type: 'string', default: '9090' },
      products: { type: 'string', default: '2000' },
      step: { type: 'string' },
      tick: { type: 'string' },
      fresh: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(
      'npm start [-- OPTIONS]: a Freshet node with the marketplace example running (examples/marketplace/README.md)\n' +
        '  --data-dir DIR         the node\'s data dir (default ~/.freshet/examples/marketplace/data)\n' +
        '  --db FILE              the SQLite database (default ~/.freshet/examples/marketplace/marketplace.db)\n' +
        '  --sc-port N            SC port (default 9003); --spu-port N (9005); --console-port N (9080)\n' +
        '  --simulator-port N     the marketplace API simulator (default 9090)\n' +
        '  --products N           products in the catalogue (default 2000)\n' +
        '  --step DURATION        the dataflow\'s time step (default 5s, from dataflow.yaml)\n' +
        '  --tick DURATION        the simulator\'s tick (default 500ms)\n' +
        '  --fresh                delete the example\'s data dir and database first\n',
    );
    return;
  }
  const base = defaultExampleDir();
  const dataDir = path.resolve(values['data-dir'] ?? path.join(base, 'data'));
  const dbFile = path.resolve(values.db ?? path.join(base, 'marketplace.db'));
  if (values.fresh) {
    await rm(dataDir, { recursive: true, force: true });
    for (const suffix of ['', '-wal', '-shm']) await rm(`${dbFile}${suffix}`, { force: true });
  }
  const port = (name: string, text: string) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`--${name}: expected a port number, got "${text}"`);
    return n;
  };
  const logger = pino({ level: process.env.FRESHET_LOG ?? 'warn' }, pino.destination(2));
  process.stderr.write('Starting Freshet with the marketplace example...\n');
  let running: RunningMarketplace;
  try {
    running = await startMarketplace({
      dataDir,
      dbFile,
      scPort: port('sc-port', values['sc-port']),
      spuPort: port('spu-port', values['spu-port']),
      consolePort: port('console-port', values['console-port']),
      simulatorPort: port('simulator-port', values['simulator-port']),
      products: Number(values.products),
      ...(values.step ? { step: values.step } : {}),
      ...(values.tick ? { tickMs: parseDuration(values.tick) } : {}),
      logger,
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    process.stderr.write(`error: ${e.message}\n`);
    if (e.code === 'EADDRINUSE' || /in use|EADDRINUSE|lock/i.test(e.message)) {
      process.stderr.write('hint: is another Freshet node running? Stop it (`npx freshet cluster shutdown`), or pass other ports: npm start -- --sc-port 9103 --spu-port 9105 --console-port 9180 --simulator-port 9190\n');
    }
    process.exit(1);
  }
  const { node, simulator } = running;
  process.stderr.write(
    `Freshet is running with the marketplace example.\n` +
      `  console (live plots): ${running.consoleUrl}/#df=${DATAFLOW}\n` +
      `  SC  (connect here): ${node.endpoint}\n  SPU: ${node.config.host}:${node.spuPort}\n` +
      `  data: ${dataDir}\n  SQLite: ${running.dbFile} (tables product_windows, brand_correlations)\n` +
      `  marketplace API simulator: ${simulator.url}/api/v1/products (${simulator.simulator.products.length} products, ${simulator.simulator.brands.length} brands)\n` +
      `Windows close every ${values.step ?? '5s'}: the first plots appear within seconds. Press Ctrl-C to stop.\n`,
  );
  stopOnSignals(() => running.stop(), { what: 'the example', doing: 'the dataflow writes a last checkpoint' });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await main();
}
