// Freshet console, the views besides the plots: a topic browser (latest and
// live records of any topic, JSON as a tree, search by key), the pipeline as
// a graph (connectors → topics → dataflows → topics → sinks) with record
// rates on its edges, and a SQL box over a dataflow's state (DuckDB).
// `window.freshetExplore` exposes what the browser test reads.

/* global window, document, fetch, EventSource, Option, setInterval, clearInterval, URLSearchParams */

const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const MAX_SHOWN = 200;

const state = { view: 'plots', topic: '', partition: 0, key: '', records: [], live: undefined, pipelineTimer: undefined, pipeline: { nodes: [], edges: [] }, sql: undefined };

async function getJson(path, init) {
  const response = await fetch(path, init);
  const body = await response.json();
  if (!response.ok) throw Object.assign(new Error(body.error ?? `HTTP ${response.status}`), { body });
  return body;
}

// ---- views -------------------------------------------------------------------

function show(view) {
  state.view = view;
  for (const button of document.querySelectorAll('#views button')) button.classList.toggle('on', button.dataset.view === view);
  for (const section of document.querySelectorAll('.view')) section.hidden = section.id !== `view-${view}`;
  if (state.pipelineTimer) clearInterval(state.pipelineTimer);
  state.pipelineTimer = undefined;
  if (view === 'topics') void loadTopics();
  if (view === 'pipeline') {
    void loadPipeline();
    state.pipelineTimer = setInterval(() => void loadPipeline(), 2000);
  }
  if (view !== 'topics') closeLive();
}

// ---- topic browser -------------------------------------------------------------

/** A JSON value as a tree of <details>. */
function tree(value, name) {
  const label = name === undefined ? '' : `<span class="k">${esc(name)}</span>: `;
  if (value !== null && typeof value === 'object') {
    const entries = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
    const summary = Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`;
    return `<details open><summary>${label}<span class="muted">${summary}</span></summary><ul>${entries.map(([k, v]) => `<li>${tree(v, k)}</li>`).join('')}</ul></details>`;
  }
  const type = value === null ? 'null' : typeof value;
  return `${label}<span class="v ${type}">${esc(JSON.stringify(value))}</span>`;
}

function recordItem(r) {
  const when = r.timestamp >= 0 ? new Date(r.timestamp).toISOString() : '–';
  const body = r.json ? tree(r.value) : `<span class="v string">${esc(r.value)}</span>`;
  return `<li data-offset="${r.offset}" data-partition="${r.partition}"><div class="meta">p${r.partition} @${r.offset} · ${when} · key <b>${esc(r.key ?? '(none)')}</b></div>${body}</li>`;
}

function renderRecords() {
  $('records').innerHTML = state.records.length === 0 ? '<li class="muted">no records</li>' : state.records.map(recordItem).join('');
}

async function loadTopics() {
  const topics = await getJson('/api/topics');
  const select = $('topic');
  const current = state.topic || topics[0]?.name || '';
  select.replaceChildren(...topics.map((t) => new Option(`${t.name} (${t.partitions.reduce((n, p) => n + p.highWatermark, 0)})`, t.name, false, t.name === current)));
  state.topic = current;
  const topic = topics.find((t) => t.name === current);
  $('partition').replaceChildren(...(topic?.partitions ?? []).map((p) => new Option(`${p.partition}`, String(p.partition), false, p.partition === state.partition)));
  await loadRecords();
}

async function loadRecords() {
  if (!state.topic) return;
  const params = new URLSearchParams({ partition: String(state.partition), limit: '50' });
  if (state.key) params.set('key', state.key);
  const answer = await getJson(`/api/topics/${encodeURIComponent(state.topic)}/records?${params}`);
  state.records = answer.records;
  renderRecords();
  $('topic-status').textContent = `${answer.records.length} records shown · log end ${answer.highWatermark}${state.key ? ` · key contains "${state.key}" (last ${answer.scanned} scanned)` : ''}`;
  api.loaded++;
}

function closeLive() {
  state.live?.close();
  state.live = undefined;
  $('topic-live').checked = false;
}

function openLive() {
  closeLive();
  $('topic-live').checked = true;
  state.live = new EventSource(`/api/topics/${encodeURIComponent(state.topic)}/live`);
  // The stream answers once its consumers are placed at the log ends: records from then on arrive.
  state.live.addEventListener('open', () => api.liveOpens++);
  state.live.addEventListener('record', (e) => {
    const r = JSON.parse(e.data);
    if (state.key && !(r.key ?? '').includes(state.key)) return;
    state.records.unshift(r);
    state.records.length = Math.min(state.records.length, MAX_SHOWN);
    api.liveRecords++;
    renderRecords();
  });
}

// ---- pipeline ---------------------------------------------------------------------

function layers(graph) {
  const layer = new Map(graph.nodes.map((n) => [n.id, n.kind === 'source' ? 0 : 1]));
  // Longest path from the sources (a bounded number of passes: cycles do not loop forever).
  for (let pass = 0; pass < graph.nodes.length; pass++) {
    let moved = false;
    for (const e of graph.edges) {
      const next = (layer.get(e.from) ?? 0) + 1;
      if (next > (layer.get(e.to) ?? 0)) {
        layer.set(e.to, next);
        moved = true;
      }
    }
    if (!moved) break;
  }
  return layer;
}

const rateText = (rate) => (rate === null || rate === undefined ? '…' : rate >= 100 ? `${Math.round(rate)}/s` : `${rate.toFixed(1)}/s`);

function renderPipeline(graph) {
  const layer = layers(graph);
  const first = Math.min(...layer.values());
  const columns = new Map();
  for (const n of [...graph.nodes].sort((a, b) => a.name.localeCompare(b.name))) {
    const l = (layer.get(n.id) ?? 0) - first;
    if (!columns.has(l)) columns.set(l, []);
    columns.get(l).push(n);
  }
  const W = 170;
  const H = 56;
  const pos = new Map();
  for (const [l, nodes] of columns) nodes.forEach((n, i) => pos.set(n.id, { x: 20 + l * (W + 70), y: 20 + i * (H + 30) }));
  const width = 40 + Math.max(0, ...[...columns.keys()]) * (W + 70) + W;
  const height = 40 + Math.max(1, ...[...columns.values()].map((c) => c.length)) * (H + 30);
  const edges = graph.edges
    .map((e) => {
      const a = pos.get(e.from);
      const b = pos.get(e.to);
      if (!a || !b) return '';
      const x1 = a.x + W;
      const y1 = a.y + H / 2;
      const x2 = b.x;
      const y2 = b.y + H / 2;
      return `<g class="edge" data-from="${esc(e.from)}" data-to="${esc(e.to)}"><path d="M${x1},${y1} C${x1 + 35},${y1} ${x2 - 35},${y2} ${x2},${y2}" marker-end="url(#arrow)"/><text x="${(x1 + x2) / 2}" y="${(y1 + y2) / 2 - 5}">${rateText(e.rate)}</text></g>`;
    })
    .join('');
  const nodes = graph.nodes
    .map((n) => {
      const p = pos.get(n.id);
      return `<g class="node ${n.kind}" data-id="${esc(n.id)}"><rect x="${p.x}" y="${p.y}" width="${W}" height="${H}" rx="6"/><text x="${p.x + 10}" y="${p.y + 22}" class="name">${esc(n.name.length > 22 ? `${n.name.slice(0, 21)}…` : n.name)}</text><text x="${p.x + 10}" y="${p.y + 42}" class="kind">${esc(n.kind)}${n.state ? ` · ${esc(n.state)}` : ''}</text></g>`;
    })
    .join('');
  const svg = $('pipeline');
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('width', String(width));
  svg.setAttribute('height', String(height));
  svg.innerHTML = `<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>${edges}${nodes}`;
}

async function loadPipeline() {
  state.pipeline = await getJson('/api/pipeline');
  renderPipeline(state.pipeline);
  api.pipelineLoads++;
}

// ---- SQL ---------------------------------------------------------------------------

async function runSql() {
  const dataflow = window.freshetConsole?.selection().dataflow;
  const service = window.freshetConsole?.selection().service;
  $('sql-error').textContent = '';
  if (!dataflow) {
    $('sql-error').textContent = 'pick a dataflow on the left first';
    return;
  }
  try {
    const result = await getJson(`/dataflows/${encodeURIComponent(dataflow)}/sql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: $('sql-text').value, ...(service ? { service } : {}) }),
    });
    state.sql = result;
    const fmt = (v) => (v === null ? '<span class="muted">null</span>' : esc(typeof v === 'object' ? JSON.stringify(v) : v));
    $('sql-result').innerHTML = `<thead><tr>${result.columns.map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead><tbody>${result.rows.map((row) => `<tr>${row.map((v) => `<td>${fmt(v)}</td>`).join('')}</tr>`).join('')}</tbody>`;
    $('sql-status').textContent = `${result.rows.length} rows${result.truncated ? ' (truncated)' : ''}`;
  } catch (err) {
    state.sql = undefined;
    $('sql-result').innerHTML = '';
    $('sql-status').textContent = '';
    const tables = err.body?.tables;
    $('sql-error').innerHTML = `${esc(err.message)}${tables ? `<ul class="tables">${Object.entries(tables).map(([t, cols]) => `<li><b>${esc(t)}</b>(${cols.map(esc).join(', ')})</li>`).join('')}</ul>` : ''}`;
  }
  api.sqlRuns++;
}

// ---- wiring --------------------------------------------------------------------------

const api = { loaded: 0, liveOpens: 0, liveRecords: 0, pipelineLoads: 0, sqlRuns: 0, show, records: () => state.records, pipeline: () => state.pipeline, sql: () => state.sql };
window.freshetExplore = api;

for (const button of document.querySelectorAll('#views button')) button.addEventListener('click', () => show(button.dataset.view));
$('topic').addEventListener('change', (e) => {
  state.topic = e.target.value;
  state.partition = 0;
  closeLive();
  void loadTopics();
});
$('partition').addEventListener('change', (e) => {
  state.partition = Number(e.target.value);
  void loadRecords();
});
$('topic-key').addEventListener('change', (e) => {
  state.key = e.target.value.trim();
  void loadRecords();
});
$('topic-live').addEventListener('change', (e) => (e.target.checked ? openLive() : closeLive()));
$('sql-run').addEventListener('click', () => void runSql());
