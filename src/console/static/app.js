// Freshet console: lists the node's dataflows and connectors, and plots a
// dataflow's series with uPlot — an aggregate, its delta, % change or
// rolling mean per key, or the correlations of key pairs — for one group or
// for chosen keys, over a chosen time range. History comes from the state
// query API (GET /dataflows/:name/state: each key's recent closed windows,
// the latest correlation of each pair); the live change feed (SSE,
// GET /dataflows/:name/events) adds each result as its window closes.
//
// The selection lives in the URL hash (#df=…&svc=…&field=…&group=…&keys=…&range=…),
// so a view can be linked to. `window.freshetConsole` exposes the chart and
// the plotted points (the browser test compares them with the query API).

/* global window, document, location, history, fetch, URLSearchParams, URL, Blob, EventSource, Option, setTimeout, clearTimeout, setInterval, addEventListener */

import uPlot from '/assets/uplot/uPlot.esm.js';

const $ = (id) => document.getElementById(id);
const COLORS = ['#0e7490', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#2563eb', '#ca8a04', '#db2777', '#0d9488', '#4b5563', '#65a30d', '#7c3aed', '#b91c1c', '#0891b2', '#a16207', '#be185d'];
const MAX_SERIES = 16;
const SERIES_FIELDS = { delta: 'Δ', pctChange: '% change', rollingMean: 'rolling mean' };

const sel = { dataflow: '', service: '', field: '', group: '', keys: [], range: 900_000 };
const hidden = new Set();
let store = newStore();
let feed;
let chart;
let chartShape = '';
let generation = 0;
let renderTimer;
let lastClosedAt = 0;
let dataflowList = [];

function newStore() {
  return { windows: new Map(), correlations: new Map(), groupKeys: [], seriesOf: '', valueNames: new Set(), seriesFields: new Set(), correlationNames: new Set() };
}

const api = {
  chart: () => chart,
  ready: false,
  renders: 0,
  selection: () => ({ ...sel, keys: [...sel.keys] }),
  /** What the chart shows: per series its label and [windowStart ms, value] points (from uPlot's data). */
  plotted() {
    if (!chart) return { ...this.selection(), series: [] };
    const xs = chart.data[0];
    const series = chart.series.slice(1).map((s, i) => ({
      label: s.label,
      points: xs.flatMap((x, j) => (chart.data[i + 1][j] === null || chart.data[i + 1][j] === undefined ? [] : [[Math.round(x * 1000), chart.data[i + 1][j]]])),
    }));
    return { ...this.selection(), series };
  },
  /** The plotted data as CSV: window_start (ISO) and one column per series, one row per window start. */
  csv() {
    const { series } = this.plotted();
    const starts = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
    const byLabel = series.map((s) => new Map(s.points));
    const cell = (v) => (v === undefined ? '' : String(v));
    const quote = (t) => (/[",\n]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t);
    const lines = [['window_start', ...series.map((s) => s.label)].map(quote).join(',')];
    for (const x of starts) lines.push([new Date(x).toISOString(), ...byLabel.map((m) => cell(m.get(x)))].join(','));
    return `${lines.join('\n')}\n`;
  },
  select(changes) {
    Object.assign(sel, changes);
    writeHash();
    return load();
  },
};
window.freshetConsole = api;

async function getJson(path) {
  const response = await fetch(path);
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

const enc = encodeURIComponent;
const dfPath = (suffix = '') => `/dataflows/${enc(sel.dataflow)}${suffix}`;

// ---- URL hash --------------------------------------------------------------

function readHash() {
  const p = new URLSearchParams(location.hash.slice(1));
  sel.dataflow = p.get('df') ?? '';
  sel.service = p.get('svc') ?? '';
  sel.field = p.get('field') ?? '';
  sel.group = p.get('group') ?? '';
  sel.keys = (p.get('keys') ?? '').split(',').filter(Boolean);
  if (p.has('range')) sel.range = Number(p.get('range')) || 0;
}

function writeHash() {
  const p = new URLSearchParams();
  if (sel.dataflow) p.set('df', sel.dataflow);
  if (sel.service) p.set('svc', sel.service);
  if (sel.field) p.set('field', sel.field);
  if (sel.group) p.set('group', sel.group);
  if (sel.keys.length > 0) p.set('keys', sel.keys.join(','));
  p.set('range', String(sel.range));
  history.replaceState(null, '', `#${p}`);
}

// ---- sidebar ---------------------------------------------------------------

function li(html, onClick, selected) {
  const item = document.createElement('li');
  item.innerHTML = html;
  if (onClick) item.addEventListener('click', onClick);
  if (selected) item.classList.add('selected');
  return item;
}

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

async function refreshSidebar() {
  try {
    dataflowList = await getJson('/dataflows');
    const list = $('dataflows');
    list.replaceChildren(
      ...(dataflowList.length === 0
        ? [li('<span class="muted">none yet</span>')]
        : dataflowList.map((d) =>
            li(
              `<span>${esc(d.name)}<span class="sub">${esc((d.services ?? []).join(', '))}</span></span><span class="badge ${esc(d.state)}">${esc(d.state)}</span>`,
              () => api.select({ dataflow: d.name, service: '', field: '', group: '', keys: [] }),
              d.name === sel.dataflow,
            ),
          )),
    );
    if (!sel.dataflow && dataflowList.length > 0) await api.select({ dataflow: dataflowList[0].name });
  } catch (err) {
    $('dataflows').replaceChildren(li(`<span class="muted">${esc(err.message)}</span>`));
  }
  try {
    const connectors = await getJson('/connectors');
    $('connectors').replaceChildren(
      ...(connectors.length === 0
        ? [li('<span class="muted">none</span>')]
        : connectors.map((c) => li(`<span>${esc(c.name)}<span class="sub">${esc(c.type)} · ${esc(c.topic)} · ${c.stats.records} records</span></span><span class="badge ${esc(c.status.state)}">${esc(c.status.state)}</span>`))),
    );
  } catch {
    $('connectors').replaceChildren(li('<span class="muted">not available</span>'));
  }
  for (const item of document.querySelectorAll('.list li')) if (item.querySelector('.muted:only-child')) item.classList.add('muted');
}

// ---- data ------------------------------------------------------------------

function addWindow(w) {
  if (!w || typeof w.windowStart !== 'number') return;
  let byStart = store.windows.get(w.key);
  if (!byStart) store.windows.set(w.key, (byStart = new Map()));
  byStart.set(w.windowStart, w);
  for (const [name, v] of Object.entries(w.values ?? {})) if (typeof v === 'number') store.valueNames.add(name);
  for (const [fact, fields] of Object.entries(w.series ?? {})) {
    store.seriesOf ||= fact;
    for (const f of Object.keys(SERIES_FIELDS)) if (f in fields) store.seriesFields.add(`${fact}:${f}`);
  }
  if (w.windowEnd > lastClosedAt) lastClosedAt = w.windowEnd;
}

function addCorrelation(c) {
  if (!c || typeof c.windowStart !== 'number') return;
  const id = `${c.name}:${c.a}~${c.b}`;
  store.correlationNames.add(c.name);
  let byStart = store.correlations.get(id);
  if (!byStart) store.correlations.set(id, (byStart = new Map()));
  byStart.set(c.windowStart, c);
}

function shownKeys() {
  const keys = sel.group ? store.groupKeys : sel.keys;
  return keys.slice(0, MAX_SERIES);
}

/** A correlation field: r:<name> or p:<name>. */
function correlationField() {
  const m = /^(r|p):(.+)$/.exec(sel.field);
  return m ? { measure: m[1], name: m[2] } : undefined;
}

/** Fewer points than the correlation's min-points: shown greyed out, never plotted. */
const weak = (c) => typeof c.n === 'number' && c.n < (c.minPoints ?? 5);

function pairLabel(id) {
  const c = store.correlations.get(id).values().next().value;
  return `${c.a} ~ ${c.b}${store.correlationNames.size > 1 ? ` (${c.name})` : ''}`;
}

function pairsShown() {
  const keys = new Set(sel.group ? store.groupKeys : sel.keys);
  const only = correlationField()?.name;
  const out = [];
  for (const [id, byStart] of store.correlations) {
    const any = byStart.values().next().value;
    if (only !== undefined && any.name !== only) continue;
    if (sel.group ? any.group === sel.group || (keys.has(any.a) && keys.has(any.b)) : keys.has(any.a) || keys.has(any.b)) out.push(id);
  }
  return out.sort().slice(0, MAX_SERIES);
}

function fieldValue(w) {
  if (sel.field.startsWith('value:')) return w.values?.[sel.field.slice(6)];
  const [, fact, f] = sel.field.split(':');
  return w.series?.[fact]?.[f];
}

/** The series to draw: [{label, points: [[windowStart ms, y], ...]}] before the range filter. */
function seriesData() {
  const corr = correlationField();
  if (corr) {
    return pairsShown().map((id) => ({
      label: pairLabel(id),
      points: [...store.correlations.get(id).values()].filter((c) => typeof c[corr.measure] === 'number' && !weak(c)).map((c) => [c.windowStart, c[corr.measure]]),
    }));
  }
  return shownKeys().map((key) => ({
    label: key,
    points: [...(store.windows.get(key)?.values() ?? [])].map((w) => [w.windowStart, fieldValue(w)]).filter(([, v]) => typeof v === 'number' && Number.isFinite(v)),
  }));
}

// ---- controls ----------------------------------------------------------------

function setOptions(select, options, value) {
  select.replaceChildren(...options.map(([v, label]) => new Option(label, v, false, v === value)));
  if (options.some(([v]) => v === value)) select.value = value;
}

function fieldOptions() {
  const options = [...store.valueNames].sort().map((n) => [`value:${n}`, n]);
  for (const field of [...store.seriesFields].sort()) {
    const [fact, f] = field.split(':');
    options.push([`series:${fact}:${f}`, `${SERIES_FIELDS[f]} ${fact}`]);
  }
  for (const name of [...store.correlationNames].sort()) {
    options.push([`r:${name}`, `correlation r ${name}`]);
    options.push([`p:${name}`, `p-value ${name}`]);
  }
  return options;
}

function refreshFieldSelect() {
  const options = fieldOptions();
  if (!sel.field || !options.some(([v]) => v === sel.field)) {
    const preferred = store.seriesOf && options.find(([v]) => v === `value:${store.seriesOf}`);
    if (options.length > 0 && (!sel.field || store.valueNames.size > 0)) sel.field = (preferred ?? options[0])[0];
  }
  setOptions($('field'), options, sel.field);
}

function renderChips() {
  const box = $('chips');
  const keys = correlationField() ? pairsShown().map(pairLabel) : shownKeys();
  box.replaceChildren(
    ...keys.map((key, i) => {
      const chip = document.createElement('span');
      chip.className = `chip${hidden.has(key) ? ' off' : ''}`;
      chip.innerHTML = `<i style="background:${COLORS[i % COLORS.length]}"></i>${esc(key)}${!sel.group && !correlationField() ? ' ×' : ''}`;
      chip.title = sel.group || correlationField() ? 'show / hide' : 'remove';
      chip.addEventListener('click', () => {
        if (!sel.group && !correlationField()) {
          void api.select({ keys: sel.keys.filter((k) => k !== key) });
          return;
        }
        if (hidden.has(key)) hidden.delete(key);
        else hidden.add(key);
        renderChips();
        render();
      });
      return chip;
    }),
  );
}

// ---- chart -----------------------------------------------------------------

function render() {
  const series = seriesData();
  const maxX = Math.max(-Infinity, ...series.flatMap((s) => s.points.map((p) => p[0])));
  const from = sel.range > 0 && Number.isFinite(maxX) ? maxX - sel.range : -Infinity;
  const visible = series.filter((s) => !hidden.has(s.label)).map((s) => ({ label: s.label, points: s.points.filter((p) => p[0] >= from) }));
  const xs = [...new Set(visible.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const data = [xs.map((x) => x / 1000)];
  for (const s of visible) {
    const ys = new Array(xs.length).fill(null);
    for (const [x, y] of s.points) ys[index.get(x)] = y;
    data.push(ys);
  }
  const box = $('chart');
  $('empty').textContent = !sel.dataflow ? 'Pick a dataflow on the left.' : xs.length === 0 ? 'No closed windows for this selection yet; the chart fills in as windows close.' : '';
  const colors = new Map(series.map((s, i) => [s.label, COLORS[i % COLORS.length]]));
  const shape = JSON.stringify([sel.field, visible.map((s) => s.label)]);
  const width = Math.max(320, box.clientWidth || 800);
  if (!chart || shape !== chartShape) {
    chart?.destroy();
    chartShape = shape;
    chart = new uPlot(
      {
        width,
        height: 360,
        scales: { x: { time: true } },
        series: [
          {},
          ...visible.map((s) => ({
            label: s.label,
            stroke: colors.get(s.label),
            width: 1.5,
            spanGaps: true,
            points: { show: true, size: 5 },
          })),
        ],
        axes: [{}, { label: $('field').selectedOptions[0]?.textContent ?? '', labelSize: 18, size: 60 }],
        legend: { live: true },
      },
      data,
      box,
    );
  } else {
    chart.setData(data);
  }
  api.renders++;
  renderTables();
  const pairs = store.correlations.size;
  $('status').textContent =
    `${store.windows.size} keys loaded · ${pairs} pairs · ${xs.length} windows plotted` +
    (lastClosedAt ? ` · last window closed ${new Date(lastClosedAt).toLocaleTimeString()}` : '');
}

function scheduleRender() {
  if (renderTimer) return;
  renderTimer = setTimeout(() => {
    renderTimer = undefined;
    refreshFieldSelect();
    render();
  }, 150);
}

function fmt(v) {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toPrecision(4);
  return esc(typeof v === 'string' ? v : JSON.stringify(v));
}

function renderTables() {
  const keys = shownKeys();
  const names = [...store.valueNames].sort();
  const fields = [...store.seriesFields].sort().map((field) => field.split(':'));
  $('latest').querySelector('thead').innerHTML = `<tr><th>key</th><th>window</th>${names.map((n) => `<th class="num">${esc(n)}</th>`).join('')}${fields.map(([fact, f]) => `<th class="num">${esc(`${SERIES_FIELDS[f]} ${fact}`)}</th>`).join('')}</tr>`;
  $('latest').querySelector('tbody').innerHTML = keys
    .map((key) => {
      const ws = [...(store.windows.get(key)?.values() ?? [])];
      const w = ws.reduce((a, b) => (!a || b.windowStart > a.windowStart ? b : a), undefined);
      if (!w) return `<tr><td>${esc(key)}</td><td colspan="${names.length + fields.length + 1}" class="muted">no closed window yet</td></tr>`;
      return `<tr><td>${esc(key)}</td><td>${new Date(w.windowStart).toLocaleTimeString()}</td>${names.map((n) => `<td class="num">${fmt(w.values?.[n])}</td>`).join('')}${fields.map(([fact, f]) => `<td class="num">${fmt(w.series?.[fact]?.[f])}</td>`).join('')}</tr>`;
    })
    .join('');
  const latest = pairsShown()
    .map((id) => [...store.correlations.get(id).values()].reduce((a, b) => (b.windowStart > a.windowStart ? b : a)))
    .sort((a, b) => Number(weak(a)) - Number(weak(b)) || Math.abs(b.r ?? 0) - Math.abs(a.r ?? 0))
    .slice(0, 30);
  $('correlations').querySelector('tbody').innerHTML =
    latest.length === 0
      ? '<tr><td colspan="7" class="muted">none for this selection</td></tr>'
      : latest
          .map(
            (c) =>
              `<tr class="${weak(c) ? 'weak' : ''}"${weak(c) ? ` title="fewer than ${c.minPoints ?? 5} points (min-points)"` : ''}><td>${esc(c.name)}</td><td>${esc(c.a)}</td><td>${esc(c.b)}</td><td class="num">${fmt(c.r)}</td><td class="num">${fmt(c.p)}</td><td class="num">${c.n}</td><td>${new Date(c.windowStart).toLocaleTimeString()}</td></tr>`,
          )
          .join('');
}

// ---- loading a selection ------------------------------------------------------

function openFeed(gen) {
  feed?.close();
  const params = new URLSearchParams({ kind: 'window,correlation' });
  if (sel.service) params.set('service', sel.service);
  if (sel.group) params.set('group', sel.group);
  else params.set('key', sel.keys.join(','));
  if (!sel.group && sel.keys.length === 0) return;
  feed = new EventSource(dfPath(`/events?${params}`));
  feed.onopen = () => setLive(true);
  feed.onerror = () => setLive(false);
  feed.addEventListener('window', (e) => {
    if (gen !== generation) return;
    const w = JSON.parse(e.data);
    if (sel.group && w.group === sel.group && !store.groupKeys.includes(w.key)) store.groupKeys = [...store.groupKeys, w.key].sort();
    addWindow(w);
    scheduleRender();
  });
  feed.addEventListener('correlation', (e) => {
    if (gen !== generation) return;
    addCorrelation(JSON.parse(e.data));
    scheduleRender();
  });
}

function setLive(on) {
  const badge = $('live');
  badge.textContent = on ? 'live' : 'offline';
  badge.className = `badge ${on ? 'on' : 'off'}`;
}

async function load() {
  const gen = ++generation;
  feed?.close();
  setLive(false);
  store = newStore();
  hidden.clear();
  lastClosedAt = 0;
  for (const item of $('dataflows').children) item.classList.toggle('selected', item.textContent.startsWith(sel.dataflow) && !!sel.dataflow);
  if (!sel.dataflow) {
    render();
    return;
  }
  try {
    const info = dataflowList.find((d) => d.name === sel.dataflow) ?? (await getJson(dfPath()));
    const summary = await getJson(dfPath(`/state${sel.service ? `?service=${enc(sel.service)}` : ''}`));
    if (gen !== generation) return;
    sel.service = summary.service;
    const services = (info.services ?? [summary.service]).map((s) => (typeof s === 'string' ? s : s.service));
    setOptions($('service'), services.map((s) => [s, s]), sel.service);
    const groups = summary.groups ?? [];
    if (sel.group && !groups.includes(sel.group)) sel.group = '';
    if (!sel.group && sel.keys.length === 0 && groups.length > 0) sel.group = groups[0];
    setOptions($('group'), [['', '(keys below)'], ...groups.map((g) => [g, g])], sel.group);
    const svc = `service=${enc(sel.service)}`;
    if (!sel.group && sel.keys.length === 0) sel.keys = (await getJson(dfPath(`/keys?limit=5&${svc}`))).keys;
    writeHash();
    openFeed(gen);
    if (sel.group) {
      const g = await getJson(dfPath(`/state?group=${enc(sel.group)}&${svc}`));
      if (gen !== generation) return;
      store.groupKeys = g.keys.map((k) => k.key);
      for (const k of g.keys) for (const w of k.closed) addWindow(w);
      for (const c of g.correlations ?? []) addCorrelation(c);
    } else {
      for (const key of sel.keys.slice(0, MAX_SERIES)) {
        const k = await getJson(dfPath(`/state?key=${enc(key)}&${svc}`));
        if (gen !== generation) return;
        for (const w of k.closed) addWindow(w);
        for (const c of k.correlations ?? []) addCorrelation(c);
      }
    }
    refreshFieldSelect();
    renderChips();
    render();
    api.ready = true;
  } catch (err) {
    if (gen === generation) $('status').textContent = `cannot load ${sel.dataflow}: ${err.message}`;
  }
}

// ---- wiring ------------------------------------------------------------------

$('csv').addEventListener('click', () => {
  const link = document.createElement('a');
  link.href = URL.createObjectURL(new Blob([api.csv()], { type: 'text/csv' }));
  link.download = `${[sel.dataflow, sel.service, sel.field].join('-').replace(/[^A-Za-z0-9.]+/g, '-')}.csv`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
});
$('service').addEventListener('change', (e) => void api.select({ service: e.target.value, field: '', group: '', keys: [] }));
$('field').addEventListener('change', (e) => {
  sel.field = e.target.value;
  writeHash();
  hidden.clear();
  renderChips();
  render();
});
$('group').addEventListener('change', (e) => void api.select({ group: e.target.value, keys: [] }));
$('range').addEventListener('change', (e) => {
  sel.range = Number(e.target.value);
  writeHash();
  render();
});
let keyLookup;
$('key-input').addEventListener('input', (e) => {
  clearTimeout(keyLookup);
  const prefix = e.target.value;
  keyLookup = setTimeout(async () => {
    if (!sel.dataflow) return;
    const { keys } = await getJson(dfPath(`/keys?limit=50&service=${enc(sel.service)}&prefix=${enc(prefix)}`)).catch(() => ({ keys: [] }));
    $('key-options').replaceChildren(...keys.map((k) => new Option(k)));
  }, 150);
});
$('key-input').addEventListener('keydown', (e) => {
  if (e.key !== 'Enter') return;
  e.preventDefault();
  const key = e.target.value.trim();
  e.target.value = '';
  if (key && !sel.keys.includes(key)) void api.select({ group: '', keys: [...sel.keys.filter(() => !sel.group), key] });
});
addEventListener('resize', () => chart?.setSize({ width: Math.max(320, $('chart').clientWidth), height: 360 }));
addEventListener('hashchange', () => {
  const before = JSON.stringify(sel);
  readHash();
  if (JSON.stringify(sel) !== before) void load();
});

readHash();
$('range').value = String(sel.range);
getJson('/api/node')
  .then((node) => ($('node').textContent = `SC ${node.endpoint} · SPU ${node.spu} · ${node.dataDir}`))
  .catch(() => ($('node').textContent = 'node info unavailable'));
if (sel.dataflow) void load();
void refreshSidebar();
setInterval(() => void refreshSidebar(), 4000);
