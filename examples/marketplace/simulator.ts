// A local stand-in for a marketplace API: thousands of products with a
// price, a sales rank, a review count and a stock level that drift over
// time, grouped in brands whose products move together (a brand's activity
// and its promotions drive how often — and how — its products change).
// Deterministic: the same seed gives the same catalogue and the same
// sequence of changes, tick after tick (only the timestamps are the wall
// clock's).
//
// HTTP (JSON):
//   GET /api/v1/products/changes?feed=NAME&limit=N   the change events since this feed's previous
//                                                    call (oldest first, at most N, default 2000): what
//                                                    the http-source connector polls. Heartbeats are
//                                                    mixed in, as real feeds do.
//   GET /api/v1/products?page=P&per_page=N           the catalogue, current state
//   GET /api/v1/brands                               brands and their products
//   GET /health
//
// Run alone: node --import tsx examples/marketplace/simulator.ts [--port 9090] [--products 2000] [--seed 42]

import http from 'node:http';
import { pathToFileURL } from 'node:url';

export interface SimulatorOptions {
  /** Seed of the pseudo-random generator (default 42). */
  seed?: number;
  /** Number of products (default 2000). */
  products?: number;
  /** Simulated time step (default 500 ms): each tick may change every product once. */
  tickMs?: number;
  /** Change events kept for feeds that poll late (default 200 000). */
  retain?: number;
  /** Wall clock (tests). */
  now?: () => number;
}

/** One raw change event, as the API serves it (nested, strings for money: the SmartModule cleans it). */
export interface ChangeEvent {
  type: 'product.updated' | 'heartbeat';
  seq: number;
  ts: string;
  product?: {
    sku: string;
    title: string;
    brand: { id: string; name: string };
    offer: { price: { amount: string; currency: string }; stock: number };
    metrics: { salesRank: number; reviews: { count: number; average: number } };
  };
  changed?: string[];
}

interface Brand {
  id: string;
  name: string;
  products: number[];
  /** AR(1) activity: drives how often its products change. */
  activity: number;
  /** Log price level shared by its products. */
  priceLevel: number;
  /** Ticks of promotion left. */
  promotion: number;
}

interface Product {
  sku: string;
  title: string;
  brand: number;
  basePrice: number;
  /** Own log price drift. */
  drift: number;
  /** How often it changes, compared with its brand's other products. */
  liveliness: number;
  rank: number;
  /** The sales rank it drifts back to. */
  usualRank: number;
  reviews: number;
  rating: number;
  stock: number;
}

/** mulberry32: small, fast, good enough, reproducible everywhere. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SYLLABLES = ['nor', 'vik', 'ala', 'bri', 'zen', 'tor', 'mel', 'quo', 'sar', 'dun', 'lux', 'ori', 'pel', 'kai', 'ver', 'umi'];
const GOODS = ['Kettle', 'Lamp', 'Backpack', 'Headphones', 'Blender', 'Sneakers', 'Drill', 'Mug', 'Jacket', 'Router', 'Desk', 'Watch', 'Tent', 'Grinder', 'Speaker', 'Pan'];

export class MarketplaceSimulator {
  readonly brands: Brand[] = [];
  readonly products: Product[] = [];
  readonly tickMs: number;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly retain: number;
  private log: ChangeEvent[] = [];
  private seq = 0;
  private ticks = 0;
  private readonly cursors = new Map<string, number>();

  constructor(options: SimulatorOptions = {}) {
    this.random = prng(options.seed ?? 42);
    this.now = options.now ?? Date.now;
    this.tickMs = options.tickMs ?? 500;
    this.retain = options.retain ?? 200_000;
    const count = options.products ?? 2000;
    const r = this.random;
    while (this.products.length < count) {
      const index = this.brands.length;
      const name = `${SYLLABLES[Math.floor(r() * SYLLABLES.length)]}${SYLLABLES[Math.floor(r() * SYLLABLES.length)]}`;
      const brand: Brand = {
        id: `b${String(index + 1).padStart(3, '0')}`,
        name: `${name[0].toUpperCase()}${name.slice(1)} ${index + 1}`,
        products: [],
        activity: this.gauss() * 0.5,
        priceLevel: 0,
        promotion: 0,
      };
      this.brands.push(brand);
      // 2–6 products a brand.
      const size = Math.min(2 + Math.floor(r() * 5), count - this.products.length);
      for (let i = 0; i < size; i++) {
        const n = this.products.length;
        brand.products.push(n);
        this.products.push({
          sku: `MP-${String(n + 1).padStart(6, '0')}`,
          title: `${brand.name.split(' ')[0]} ${GOODS[Math.floor(r() * GOODS.length)]} ${n + 1}`,
          brand: index,
          basePrice: Math.round(Math.exp(Math.log(5) + r() * Math.log(100)) * 100) / 100,
          drift: 0,
          liveliness: Math.exp(this.gauss() * 0.4),
          rank: 0,
          usualRank: Math.floor(Math.exp(r() * Math.log(200_000))) + 1,
          reviews: Math.floor(Math.exp(r() * Math.log(5000))),
          rating: Math.round((3 + r() * 2) * 10) / 10,
          stock: Math.floor(r() * 200),
        });
        this.products[n].rank = this.products[n].usualRank;
      }
    }
  }

  private gauss(): number {
    const u = Math.max(this.random(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.random());
  }

  /** Number of ticks simulated so far. */
  get tickCount(): number {
    return this.ticks;
  }

  /** Sequence number of the newest event. */
  get lastSeq(): number {
    return this.seq;
  }

  private price(p: Product): number {
    const brand = this.brands[p.brand];
    const promo = brand.promotion > 0 ? 0.85 : 1;
    return Math.max(0.5, p.basePrice * Math.exp(brand.priceLevel + p.drift) * promo);
  }

  private event(p: Product, ts: string, changed: string[]): ChangeEvent {
    const brand = this.brands[p.brand];
    return {
      type: 'product.updated',
      seq: ++this.seq,
      ts,
      product: {
        sku: p.sku,
        title: p.title,
        brand: { id: brand.id, name: brand.name },
        offer: { price: { amount: this.price(p).toFixed(2), currency: 'EUR' }, stock: p.stock },
        metrics: { salesRank: p.rank, reviews: { count: p.reviews, average: p.rating } },
      },
      changed,
    };
  }

  /** Advances one tick: brands drift (and start or end promotions), products change; returns the new events. */
  tick(at = this.now()): ChangeEvent[] {
    const r = this.random;
    const ts = new Date(at).toISOString();
    const events: ChangeEvent[] = [];
    for (const brand of this.brands) {
      brand.activity = 0.97 * brand.activity + 0.12 * this.gauss();
      brand.priceLevel += 0.004 * this.gauss();
      if (brand.promotion > 0) brand.promotion--;
      else if (r() < 0.004) brand.promotion = 10 + Math.floor(r() * 30);
    }
    for (const brand of this.brands) {
      const lift = brand.promotion > 0 ? 1.6 : 0;
      for (const i of brand.products) {
        const p = this.products[i];
        // Logistic in the brand's activity: ~10 % of ticks when quiet, far more during a promotion.
        const chance = 1 / (1 + Math.exp(-(-2.3 + brand.activity + lift + Math.log(p.liveliness))));
        if (r() >= chance) continue;
        const changed: string[] = [];
        if (r() < 0.35 + lift * 0.3) {
          p.drift += 0.01 * this.gauss();
          changed.push('price');
        }
        const sold = Math.min(p.stock, Math.floor(r() * (2 + lift * 3)));
        p.stock -= sold;
        // Sales lift the rank (a smaller number); it drifts back to the product's usual rank.
        const logRank = 0.9 * Math.log(p.rank) + 0.1 * Math.log(p.usualRank) - 0.08 * sold + 0.05 * this.gauss();
        p.rank = Math.min(500_000, Math.max(1, Math.round(Math.exp(logRank))));
        changed.push(...(sold > 0 ? ['stock', 'salesRank'] : ['salesRank']));
        if (p.stock === 0 && r() < 0.2) {
          p.stock = 20 + Math.floor(r() * 200);
          if (!changed.includes('stock')) changed.push('stock');
        }
        if (r() < 0.1 + lift * 0.1) {
          p.reviews++;
          p.rating = Math.round(Math.min(5, Math.max(1, p.rating + 0.05 * this.gauss())) * 100) / 100;
          changed.push('reviews');
        }
        events.push(this.event(p, ts, changed));
      }
    }
    events.push({ type: 'heartbeat', seq: ++this.seq, ts });
    this.ticks++;
    this.log.push(...events);
    if (this.log.length > this.retain * 1.25) this.log = this.log.slice(this.log.length - this.retain);
    return events;
  }

  /** The events after this feed's cursor (a new feed starts at the latest tick), at most `limit`; moves the cursor. */
  changes(feed: string, limit = 2000): { events: ChangeEvent[]; dropped: number } {
    const oldest = this.log.length > 0 ? this.log[0].seq : this.seq + 1;
    let cursor = this.cursors.get(feed);
    if (cursor === undefined) {
      // A new feed starts with the latest tick.
      let i = this.log.length - 1;
      while (i > 0 && this.log[i - 1].ts === this.log[this.log.length - 1].ts) i--;
      cursor = this.log.length > 0 ? this.log[i].seq - 1 : this.seq;
    }
    const dropped = Math.max(0, oldest - cursor - 1);
    const from = Math.max(0, cursor + 1 - oldest);
    const events = this.log.slice(from, from + Math.max(1, limit));
    this.cursors.set(feed, events.length > 0 ? events[events.length - 1].seq : Math.max(cursor, oldest - 1));
    return { events, dropped };
  }

  /** Current state of a product, as the catalogue shows it. */
  view(i: number) {
    const p = this.products[i];
    const brand = this.brands[p.brand];
    return {
      sku: p.sku,
      title: p.title,
      brand: { id: brand.id, name: brand.name },
      price: { amount: this.price(p).toFixed(2), currency: 'EUR' },
      stock: p.stock,
      salesRank: p.rank,
      reviews: { count: p.reviews, average: p.rating },
    };
  }
}

export interface RunningSimulator {
  readonly simulator: MarketplaceSimulator;
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Starts the simulator's clock and its HTTP API on 127.0.0.1. */
export async function startSimulator(options: SimulatorOptions & { port?: number } = {}): Promise<RunningSimulator> {
  const simulator = new MarketplaceSimulator(options);
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET') return send(res, 405, { error: 'GET only' });
    if (url.pathname === '/health') return send(res, 200, { ok: true, ticks: simulator.tickCount, seq: simulator.lastSeq });
    if (url.pathname === '/api/v1/products/changes') {
      const limit = Math.min(10_000, Math.max(1, Number(url.searchParams.get('limit') ?? 2000) || 2000));
      const { events, dropped } = simulator.changes(url.searchParams.get('feed') ?? 'default', limit);
      return send(res, 200, events, dropped > 0 ? { 'x-dropped-events': String(dropped) } : {});
    }
    if (url.pathname === '/api/v1/products') {
      const perPage = Math.min(500, Math.max(1, Number(url.searchParams.get('per_page') ?? 100) || 100));
      const page = Math.max(1, Number(url.searchParams.get('page') ?? 1) || 1);
      const from = (page - 1) * perPage;
      const items = simulator.products.slice(from, from + perPage).map((_, i) => simulator.view(from + i));
      return send(res, 200, { page, per_page: perPage, total: simulator.products.length, items });
    }
    if (url.pathname === '/api/v1/brands') {
      return send(res, 200, simulator.brands.map((b) => ({ id: b.id, name: b.name, products: b.products.map((i) => simulator.products[i].sku) })));
    }
    send(res, 404, { error: `no route ${url.pathname}`, routes: ['/api/v1/products/changes?feed=NAME', '/api/v1/products', '/api/v1/brands', '/health'] });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  // Ticks follow the wall clock; a late timer catches up (several ticks at once) so event time stays steady.
  let next = Date.now();
  let timer: NodeJS.Timeout;
  const loop = () => {
    const now = Date.now();
    while (next <= now) {
      simulator.tick(next);
      next += simulator.tickMs;
    }
    timer = setTimeout(loop, next - Date.now());
  };
  loop();
  return {
    simulator,
    url: `http://127.0.0.1:${port}`,
    port,
    async close() {
      clearTimeout(timer);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? Number(process.argv[i + 1]) : undefined;
  };
  const running = await startSimulator({ port: arg('port') ?? 9090, products: arg('products'), seed: arg('seed'), tickMs: arg('tick-ms') });
  process.stderr.write(`marketplace simulator: ${running.url}/api/v1/products/changes?feed=me (${running.simulator.products.length} products, ${running.simulator.brands.length} brands)\n`);
}
