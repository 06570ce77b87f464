-- SQLite tables the marketplace sinks write to (start.ts creates them).
CREATE TABLE IF NOT EXISTS product_windows (
  id TEXT PRIMARY KEY,
  product TEXT NOT NULL,
  brand TEXT,
  window_start INTEGER NOT NULL,
  window_end INTEGER NOT NULL,
  changes INTEGER,
  price REAL,
  sales_rank INTEGER,
  reviews INTEGER,
  stock INTEGER,
  filled INTEGER,
  delta REAL,
  pct_change REAL,
  rolling_mean REAL,
  price_pct_change REAL
);
CREATE INDEX IF NOT EXISTS product_windows_product ON product_windows (product, window_start);
CREATE INDEX IF NOT EXISTS product_windows_brand ON product_windows (brand, window_start);

CREATE TABLE IF NOT EXISTS brand_correlations (
  id TEXT PRIMARY KEY,
  brand TEXT,
  product_a TEXT NOT NULL,
  product_b TEXT NOT NULL,
  window_start INTEGER NOT NULL,
  window_end INTEGER NOT NULL,
  windows INTEGER,
  correlation TEXT,
  points INTEGER,
  r REAL,
  p REAL
);
CREATE INDEX IF NOT EXISTS brand_correlations_brand ON brand_correlations (brand, window_start);
