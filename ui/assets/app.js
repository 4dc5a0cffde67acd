// flor ui: one page, state in the URL hash (#/view?params), data from /api.
// Every name and value goes into the DOM as text (el() makes text nodes),
// never as markup.
'use strict';

const main = document.getElementById('main');
const statusLine = document.getElementById('status');
let timers = [];
window.florCharts = {}; // name -> uPlot, for tests and the console

function el(tag, props, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v == null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'checked' || k === 'value' || k === 'selected') e[k] = v;
    else e.setAttribute(k, v);
  }
  for (const kid of kids.flat()) {
    if (kid == null) continue;
    e.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return e;
}

function text(v) {
  if (v == null) return '';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toPrecision(6).replace(/\.?0+$/, '');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

// State in the URL.
function current() {
  const h = location.hash.slice(1) || '/runs';
  const i = h.indexOf('?');
  const path = (i < 0 ? h : h.slice(0, i)).split('/').filter(Boolean);
  return { view: path[0] || 'runs', arg: path.slice(1).map(decodeURIComponent).join('/'), params: new URLSearchParams(i < 0 ? '' : h.slice(i + 1)) };
}
function hashOf(view, params) {
  const s = params ? params.toString() : '';
  return '#/' + view + (s ? '?' + s : '');
}
function go(view, params) { location.hash = hashOf(view, params); }
function replace(view, params) { history.replaceState(null, '', hashOf(view, params)); }
function csv(params, key) { return (params.get(key) || '').split(',').filter(Boolean); }

async function api(path, params) {
  const r = await fetch('/api/' + path + (params ? '?' + new URLSearchParams(params) : ''));
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

function showError(where, err) {
  where.replaceChildren(el('p', { class: 'error' }, String(err.message || err)));
}

async function route() {
  timers.forEach(clearInterval);
  timers = [];
  window.florCharts = {};
  delete document.body.dataset.ready;
  const st = current();
  document.querySelectorAll('header a').forEach(a => a.classList.toggle('active', a.dataset.view === st.view));
  const views = { runs: runsView, run: runView, charts: chartsView, compare: compareView, hindsight: hindsightView, sql: sqlView };
  const v = views[st.view] || runsView;
  main.replaceChildren(el('p', { class: 'muted' }, 'loading…'));
  try {
    await v(st);
  } catch (e) {
    showError(main, e);
  }
  document.body.dataset.ready = st.view;
}
window.addEventListener('hashchange', route);
window.addEventListener('DOMContentLoaded', route);

// ---- Runs -----------------------------------------------------------------

function runColumns(t) {
  const cols = [
    { key: 'tstamp', label: 'tstamp', get: r => r.tstamp },
    { key: 'filename', label: 'program', get: r => r.filename },
    { key: 'snapshot', label: 'snapshot', get: r => (r.snapshot || '').slice(0, 8) },
    { key: 'status', label: 'status', get: r => r.status },
  ];
  for (const k of t.kwargs) cols.push({ key: 'kw:' + k, label: k, get: r => r.kwargs[k], kwarg: true });
  for (const m of t.metrics) {
    for (const agg of ['last', 'min', 'max']) {
      cols.push({ key: agg + ':' + m, label: m + ' ' + agg, get: r => r.metrics && r.metrics[m] ? r.metrics[m][agg] : null,
        replayed: r => r.metrics && r.metrics[m] && r.metrics[m].replayed, metric: true });
    }
  }
  return cols;
}

function compareValues(a, b) {
  if (a == null) return b == null ? 0 : 1;
  if (b == null) return -1;
  const x = Number(a), y = Number(b);
  if (a !== '' && b !== '' && !isNaN(x) && !isNaN(y)) return x - y;
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
}

async function runsView(st) {
  const p = st.params;
  const where = p.get('where') || '';
  const metrics = csv(p, 'metrics');
  const hidden = new Set(csv(p, 'hide'));
  const selected = new Set(csv(p, 'sel'));
  const query = { where, metrics: metrics.join(',') };
  const [names, t] = await Promise.all([api('names'), api('runs', query).catch(e => ({ error: e }))]);

  const filter = el('input', { type: 'text', name: 'where', value: where, placeholder: "WHERE, e.g. lr > 0.001 OR optimizer = 'adam'" });
  const form = el('form', { id: 'filter', onsubmit: ev => {
    ev.preventDefault();
    const q = new URLSearchParams(p);
    if (filter.value.trim()) q.set('where', filter.value.trim()); else q.delete('where');
    go('runs', q);
  } }, filter, el('button', { type: 'submit' }, 'Filter'));

  const metricBox = el('div', {});
  for (const n of names.filter(n => n.numeric && !n.arg)) {
    metricBox.append(el('label', {}, el('input', { type: 'checkbox', value: n.name, checked: metrics.includes(n.name), onchange: ev => {
      const q = new URLSearchParams(p);
      const ms = metrics.filter(m => m !== n.name);
      if (ev.target.checked) ms.push(n.name);
      if (ms.length) q.set('metrics', ms.join(',')); else q.delete('metrics');
      go('runs', q);
    } }), ' ', n.name));
  }
  const bar = el('div', { class: 'bar' }, form, el('details', { class: 'chooser', id: 'metric-chooser' }, el('summary', {}, 'Metrics'), metricBox));
  main.replaceChildren(bar);
  if (t.error) {
    main.append(el('p', { class: 'error', id: 'runs-error' }, String(t.error.message)));
    return;
  }
  const cols = runColumns(t);
  const colBox = el('div', {});
  for (const c of cols) {
    colBox.append(el('label', {}, el('input', { type: 'checkbox', checked: !hidden.has(c.key), onchange: ev => {
      if (ev.target.checked) hidden.delete(c.key); else hidden.add(c.key);
      const q = new URLSearchParams(p);
      if (hidden.size) q.set('hide', [...hidden].join(',')); else q.delete('hide');
      go('runs', q);
    } }), ' ', c.label));
  }
  const exportParams = new URLSearchParams(query);
  const sel = () => [...selected];
  const chartBtn = el('button', { id: 'chart-selected', onclick: () => {
    const names2 = metrics.length ? metrics : names.filter(n => n.inLoop && n.numeric).slice(0, 2).map(n => n.name);
    go('charts', new URLSearchParams({ runs: sel().join(','), names: names2.join(',') }));
  } }, 'Chart selected');
  const cmpBtn = el('button', { id: 'compare-selected', onclick: () => {
    const s = sel();
    if (s.length === 2) go('compare', new URLSearchParams({ a: s[0], b: s[1] }));
  } }, 'Compare 2 selected');
  const live = el('input', { type: 'checkbox', id: 'live', checked: p.get('live') === '1', onchange: ev => {
    const q = new URLSearchParams(p);
    if (ev.target.checked) q.set('live', '1'); else q.delete('live');
    go('runs', q);
  } });
  bar.append(el('details', { class: 'chooser', id: 'column-chooser' }, el('summary', {}, 'Columns'), colBox), chartBtn, cmpBtn,
    el('a', { href: '/api/runs?' + exportParams + '&format=csv', download: 'flor-runs.csv' }, 'CSV'),
    el('a', { href: '/api/runs?' + exportParams + '&format=json', download: 'flor-runs.json' }, 'JSON'),
    el('label', {}, live, ' live'));

  const holder = el('div', {});
  main.append(holder);
  const draw = (t) => {
    const sort = p.get('sort') || 'tstamp';
    const desc = p.get('desc') === '1';
    const visible = runColumns(t).filter(c => !hidden.has(c.key));
    const sc = visible.find(c => c.key === sort) || visible[0];
    const rows = t.runs.slice();
    if (sc) rows.sort((a, b) => (desc ? -1 : 1) * compareValues(sc.get(a), sc.get(b)));
    const head = el('tr', {}, el('th', {}, ''), visible.map(c => el('th', {
      class: (sc === c ? 'sorted' + (desc ? ' desc' : '') : '') + (c.kwarg ? ' kwarg' : ''), 'data-key': c.key,
      onclick: () => {
        const q = new URLSearchParams(p);
        q.set('sort', c.key);
        if (sc === c && !desc) q.set('desc', '1'); else q.delete('desc');
        go('runs', q);
      } }, c.label)));
    const body = el('tbody', {});
    for (const r of rows) {
      const box = el('input', { type: 'checkbox', class: 'select', 'data-run': r.id, checked: selected.has(r.id), onchange: ev => {
        if (ev.target.checked) selected.add(r.id); else selected.delete(r.id);
        const q = new URLSearchParams(p);
        if (selected.size) q.set('sel', sel().join(',')); else q.delete('sel');
        replace('runs', q);
      } });
      body.append(el('tr', { 'data-run': r.id }, el('td', {}, box), visible.map(c => {
        const v = c.get(r);
        const cls = [typeof v === 'number' ? 'num' : '', c.key === 'status' ? 'status-' + r.status : '', c.replayed && c.replayed(r) ? 'replayed' : ''].join(' ').trim();
        if (c.key === 'tstamp') return el('td', {}, el('a', { href: '#/run/' + encodeURIComponent(r.id) }, v));
        return el('td', { class: cls || null }, text(v));
      })));
    }
    holder.replaceChildren(el('p', { class: 'muted', id: 'run-count' }, t.runs.length + ' runs'), el('table', { id: 'runs' }, el('thead', {}, head), body));
    statusLine.textContent = 'updated ' + new Date().toLocaleTimeString();
  };
  draw(t);
  if (p.get('live') === '1') {
    timers.push(setInterval(async () => {
      try { draw(await api('runs', query)); } catch (e) { statusLine.textContent = String(e.message); }
    }, 2000));
  }
}

// ---- Charts ---------------------------------------------------------------

const palette = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

function ema(ys, s) {
  const out = new Array(ys.length);
  let acc = 0, w = 0;
  for (let i = 0; i < ys.length; i++) {
    if (ys[i] == null) { out[i] = null; continue; }
    acc = s * acc + (1 - s) * ys[i];
    w = s * w + (1 - s);
    out[i] = acc / w; // debiased, so the start is not pulled to 0
  }
  return out;
}

function fade(color) { return color + '40'; }

// runLabels names runs by their tstamp and the kwargs that differ among them.
function runLabels(runs) {
  const keys = new Set();
  for (const r of runs) for (const k of Object.keys(r.kwargs)) keys.add(k);
  const differing = [...keys].filter(k => new Set(runs.map(r => r.kwargs[k])).size > 1).sort();
  const out = {};
  for (const r of runs) {
    const kv = differing.map(k => k + '=' + (r.kwargs[k] ?? '')).join(' ');
    out[r.id] = r.tstamp.slice(0, 19).replace('T', ' ') + (kv ? ' ' + kv : '');
  }
  return out;
}

// interpolate is a run's line (xs sorted) at x, or null outside it.
function interpolate(xs, ys, x) {
  if (!xs.length || x < xs[0] || x > xs[xs.length - 1]) return null;
  let lo = 0, hi = xs.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] <= x) lo = mid; else hi = mid;
  }
  if (xs[lo] === x || hi === lo) return ys[lo];
  if (xs[hi] === x) return ys[hi];
  return ys[lo] + (ys[hi] - ys[lo]) * (x - xs[lo]) / (xs[hi] - xs[lo]);
}

// groupLines aggregates the runs of each value of a kwarg, in the browser
// from the downsampled series: each run's line is taken at every x of any
// run of its group (linearly between its points), and the group's mean,
// minimum and maximum are over the runs whose line reaches that x.
function groupLines(lines, key) {
  const groups = new Map();
  for (const l of lines) {
    const g = key(l.run);
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g).push(l);
  }
  const out = [];
  for (const [g, ls] of [...groups].sort((a, b) => compareValues(a[0], b[0]))) {
    const xs = [...new Set(ls.flatMap(l => l.xs))].sort((a, b) => a - b);
    const mean = [], lo = [], hi = [];
    for (const x of xs) {
      let sum = 0, n = 0, mn = Infinity, mx = -Infinity;
      for (const l of ls) {
        const y = interpolate(l.xs, l.ys, x);
        if (y == null) continue;
        sum += y; n++; mn = Math.min(mn, y); mx = Math.max(mx, y);
      }
      mean.push(n ? sum / n : null); lo.push(n ? mn : null); hi.push(n ? mx : null);
    }
    out.push({ group: g, runs: ls.length, xs, mean, lo, hi });
  }
  return out;
}

async function drawChart(holder, name, runIds, opts, labels) {
  const box = el('div', { class: 'chart', 'data-name': name }, el('h3', {}, name));
  holder.append(box);
  const render = async () => {
    const c = await api('series', { name, runs: runIds.join(','), x: opts.x || 'global' });
    const tables = [], series = [{ label: opts.x || 'global' }], bands = [];
    let i = 0;
    const lines = c.series.map(s => {
      const order = s.x.map((_, j) => j).sort((a, b) => s.x[a] - s.x[b]);
      return { run: s.run, xs: order.map(j => s.x[j]), ys: order.map(j => s.y[j]) };
    });
    if (opts.by) {
      for (const g of groupLines(lines, run => (opts.kwargs[run] || {})[opts.by] ?? '')) {
        const color = palette[i++ % palette.length];
        const label = opts.by + '=' + g.group + ' (' + g.runs + (g.runs === 1 ? ' run)' : ' runs)');
        const base = { spanGaps: true, points: { show: false } };
        tables.push([g.xs, g.hi], [g.xs, g.lo]);
        series.push(Object.assign({ label: label + ' max', stroke: fade(color), width: 1, band: 'max', group: g.group }, base));
        series.push(Object.assign({ label: label + ' min', stroke: fade(color), width: 1, band: 'min', group: g.group }, base));
        bands.push({ series: [series.length - 2, series.length - 1], fill: fade(color) });
        tables.push([g.xs, opts.smooth > 0 ? ema(g.mean, opts.smooth) : g.mean]);
        series.push(Object.assign({ label: label + ' mean', stroke: color, width: 2, group: g.group, mean: true }, base));
      }
    }
    for (const s of opts.by ? [] : c.series) {
      const color = palette[i++ % palette.length];
      const order = s.x.map((_, j) => j).sort((a, b) => s.x[a] - s.x[b]);
      const xs = order.map(j => s.x[j]), ys = order.map(j => s.y[j]);
      const rp = s.replayed && s.replayed.length > 0;
      const label = (labels[s.run] || s.run) + (rp ? ' ↺ replayed' : '');
      const base = { spanGaps: true, dash: rp ? [6, 3] : undefined, points: { show: false } };
      if (opts.smooth > 0) {
        tables.push([xs, ys]);
        series.push(Object.assign({ label: label + ' (raw)', stroke: fade(color), width: 1, raw: true }, base));
        tables.push([xs, ema(ys, opts.smooth)]);
        series.push(Object.assign({ label, stroke: color, width: 2, run: s.run }, base));
      } else {
        tables.push([xs, ys]);
        series.push(Object.assign({ label, stroke: color, width: 1.5, run: s.run }, base));
      }
    }
    const data = tables.length ? uPlot.join(tables) : [[]];
    const old = window.florCharts[name];
    if (old) old.destroy();
    box.querySelectorAll('.u-wrap, .uplot').forEach(e => e.remove());
    const u = new uPlot({
      width: opts.width || 640, height: 300, series, bands,
      scales: { x: { time: false }, y: { distr: opts.log ? 3 : 1 } },
      axes: [{ label: opts.x || 'global' }, {}],
      legend: { live: true },
    }, data, box);
    u.florSeries = c.series;
    window.florCharts[name] = u;
  };
  try { await render(); } catch (e) { box.append(el('p', { class: 'error' }, String(e.message))); }
  if (opts.live) timers.push(setInterval(() => render().catch(() => {}), 3000));
}

async function chartsView(st) {
  const p = st.params;
  const runIds = csv(p, 'runs');
  const chosen = csv(p, 'names');
  const x = p.get('x') || 'global';
  const smooth = Number(p.get('smooth') || 0);
  const log = p.get('log') === '1';
  const by = p.get('by') || '';
  const [names, t] = await Promise.all([api('names'), api('runs')]);
  const set = (k, v) => { const q = new URLSearchParams(p); if (v === '' || v == null) q.delete(k); else q.set(k, v); go('charts', q); };
  const nameBox = el('div', {});
  for (const n of names.filter(n => n.numeric && n.inLoop)) {
    nameBox.append(el('label', {}, el('input', { type: 'checkbox', checked: chosen.includes(n.name), onchange: ev => {
      const ns = chosen.filter(m => m !== n.name);
      if (ev.target.checked) ns.push(n.name);
      set('names', ns.join(','));
    } }), ' ', n.name, n.replayed ? el('span', { class: 'replayed' }, '') : null));
  }
  const runBox = el('div', {});
  for (const r of t.runs.slice(-200)) {
    runBox.append(el('label', {}, el('input', { type: 'checkbox', checked: runIds.includes(r.id), onchange: ev => {
      const rs = runIds.filter(m => m !== r.id);
      if (ev.target.checked) rs.push(r.id);
      set('runs', rs.join(','));
    } }), ' ', r.id));
  }
  const xs = el('select', { id: 'x-axis', onchange: ev => set('x', ev.target.value) },
    ['global', 'step', 'epoch'].map(v => el('option', { value: v, selected: v === x }, v)));
  const sm = el('input', { type: 'range', id: 'smooth', min: 0, max: 0.99, step: 0.01, value: smooth, onchange: ev => set('smooth', ev.target.value === '0' ? '' : ev.target.value) });
  main.replaceChildren(el('div', { class: 'bar' },
    el('details', { class: 'chooser' }, el('summary', {}, 'Names'), nameBox),
    el('details', { class: 'chooser' }, el('summary', {}, 'Runs'), runBox),
    el('label', {}, 'x ', xs),
    el('label', {}, 'group by ', el('select', { id: 'group-by', onchange: ev => set('by', ev.target.value) },
      el('option', { value: '' }, '(none)'), t.kwargs.map(k => el('option', { value: k, selected: k === by }, k)))),
    el('label', {}, 'smoothing ', sm, ' ' + smooth),
    el('label', {}, el('input', { type: 'checkbox', id: 'logy', checked: log, onchange: ev => set('log', ev.target.checked ? '1' : '') }), ' log y'),
    el('label', {}, el('input', { type: 'checkbox', checked: p.get('live') === '1', onchange: ev => set('live', ev.target.checked ? '1' : '') }), ' live')));
  if (!runIds.length || !chosen.length) {
    main.append(el('p', { class: 'muted' }, 'Choose runs and names.'));
    return;
  }
  const chosenRuns = t.runs.filter(r => runIds.includes(r.id));
  const labels = runLabels(chosenRuns);
  const kwargs = Object.fromEntries(chosenRuns.map(r => [r.id, r.kwargs]));
  const holder = el('div', { class: 'charts' });
  main.append(holder);
  await Promise.all(chosen.map(n => drawChart(holder, n, runIds, { x, smooth, log, by, kwargs, live: p.get('live') === '1' }, labels)));
}

// ---- Run ------------------------------------------------------------------

function table(id, head, rows) {
  return el('table', { id }, el('thead', {}, el('tr', {}, head.map(h => el('th', {}, h)))),
    el('tbody', {}, rows.map(r => el('tr', {}, r.map(c => c instanceof Node ? el('td', {}, c) : el('td', {}, text(c)))))));
}

function size(n) {
  if (n < 0) return 'missing';
  if (n < 1024) return n + ' B';
  if (n < 1 << 20) return (n / 1024).toFixed(1) + ' KiB';
  return (n / (1 << 20)).toFixed(1) + ' MiB';
}

async function runView(st) {
  const [r, all] = await Promise.all([api('run', { id: st.arg }), api('runs')]);
  const others = all.runs.filter(o => o.id !== r.id);
  const pick = el('select', { id: 'compare-with' }, others.map(o => el('option', { value: o.id }, o.id)));
  const series = r.values.filter(v => v.inLoop && typeof v.value === 'number').map(v => v.name);
  main.replaceChildren(
    el('h2', {}, 'Run ', r.id),
    el('p', {}, r.filename, ' · ', el('span', { class: 'status-' + r.status }, r.status), ' · snapshot ', r.snapshot || '(none)', ' · ', r.host, ' pid ', String(r.pid)),
    el('p', {}, el('a', { href: hashOf('charts', new URLSearchParams({ runs: r.id, names: series.join(',') })) }, 'Chart its series'),
      ' · compare with ', pick, ' ', el('button', { onclick: () => go('compare', new URLSearchParams({ a: r.id, b: pick.value })) }, 'Compare')),
    el('h3', {}, 'kwargs'), table('kwargs', ['name', 'value'], Object.entries(r.kwargs).sort()),
    el('h3', {}, 'Logged values'),
    table('values', ['name', 'values', 'last', 'where'], r.values.map(v => [
      v.replayed ? el('span', { class: 'replayed' }, v.name) : v.name, v.n, v.value, v.arg ? 'arg' : v.inLoop ? 'in loops' : 'once'])),
    el('h3', {}, 'Checkpoints'),
    table('checkpoints', ['iteration', 'block', 'occurrence', 'objects'], r.checkpoints.map(c => [c.iteration, c.block || '(end)', c.occurrence,
      c.objects.map(o => o.name + ' ' + size(o.size)).join(', ')])),
    el('h3', {}, 'Replays'),
    table('replays', ['replay', 'names', 'file'], r.replays.map(x => [x.id, (x.names || []).join(', '), x.path])),
    r.warnings && r.warnings.length ? [el('h3', {}, 'Warnings'), el('ul', {}, r.warnings.map(w => el('li', {}, w)))] : null,
    el('h3', {}, 'Snapshot files'),
    r.filesError ? el('p', { class: 'error' }, r.filesError) : table('files', ['path', 'size'], (r.files || []).map(f => [f.path, size(f.size)])),
  );
}

// ---- Compare --------------------------------------------------------------

function diffView(diff) {
  const pre = el('pre', { class: 'diff', id: 'code-diff' });
  for (const line of diff.split('\n')) {
    const cls = line.startsWith('+') ? 'add' : line.startsWith('-') ? 'del' : line.startsWith('@@') ? 'hunk' : null;
    pre.append(cls ? el('span', { class: cls }, line) : line + '\n');
  }
  return pre;
}

async function compareView(st) {
  const a = st.params.get('a'), b = st.params.get('b');
  const c = await api('compare', { a, b });
  const labels = runLabels([c.a, c.b]);
  const holder = el('div', { class: 'charts' });
  main.replaceChildren(
    el('h2', {}, 'Compare ', el('a', { href: '#/run/' + encodeURIComponent(c.a.id) }, c.a.id), ' and ', el('a', { href: '#/run/' + encodeURIComponent(c.b.id) }, c.b.id)),
    el('h3', {}, 'kwargs'),
    table('kwargs-diff', ['name', c.a.id, c.b.id], c.kwargs.map(k => [k.changed ? el('strong', {}, k.name) : k.name,
      k.hasA ? k.a : '—', k.hasB ? k.b : '—'])),
    el('h3', {}, 'Metrics'), holder,
    el('h3', {}, 'Code'),
    c.diffError ? el('p', { class: 'error' }, c.diffError) : c.diff ? diffView(c.diff) : el('p', { id: 'code-diff', class: 'muted' }, 'Same code.'),
  );
  await Promise.all(c.common.map(n => drawChart(holder, n, [c.a.id, c.b.id], { x: 'global', width: 480 }, labels)));
}

// ---- Hindsight ------------------------------------------------------------

async function hindsightView() {
  const h = await api('hindsight');
  const logLink = l => el('a', { href: '/api/log?name=' + encodeURIComponent(l), target: '_blank' }, l);
  const source = h.source === 'code'
    ? ['Names the code of ', el('code', {}, h.program), ' in the working tree logs that its older runs lack: replay fills them in.']
    : ['Names the newest run (', h.newest || 'none', ') logs that older runs lack: replay fills them in.',
      h.sourceNote ? el('span', { class: 'muted', id: 'source-note' }, ' (not from the code: ' + h.sourceNote + ')') : null];
  main.replaceChildren(
    el('h2', {}, 'Hindsight'),
    el('p', { id: 'candidates-source' }, source),
    table('candidates', ['name', 'runs lacking it', 'command'], h.candidates.map(c => [c.name, c.lacking.length, el('code', { class: 'cmd' }, c.command)])),
    el('h3', {}, 'Replays'),
    table('replay-dirs', ['replay', 'state', 'files', 'log', 'error'], h.replays.map(r => [r.id,
      el('span', { class: 'replay-' + r.state.replace(' ', '-') }, r.state), r.files, r.log ? logLink(r.log) : '', r.error || ''])),
    el('h3', {}, 'Logs'),
    el('ul', {}, h.logs.map(l => el('li', {}, logLink(l)))),
  );
}

// ---- SQL ------------------------------------------------------------------

async function sqlView(st) {
  const q = st.params.get('q') || 'SELECT tstamp, status, kwargs FROM runs ORDER BY tstamp';
  const ta = el('textarea', { rows: 5, id: 'sql' });
  ta.value = q;
  const out = el('div', {});
  main.replaceChildren(el('p', { class: 'muted' }, 'Read-only: the query runs in a transaction that is rolled back.'), ta,
    el('div', { class: 'bar' }, el('button', { id: 'run-sql', onclick: () => go('sql', new URLSearchParams({ q: ta.value })) }, 'Run'),
      el('a', { href: '/api/sql?' + new URLSearchParams({ q, format: 'csv' }) }, 'CSV'),
      el('a', { href: '/api/sql?' + new URLSearchParams({ q, format: 'json' }) }, 'JSON')), out);
  if (!st.params.get('q')) return;
  try {
    const r = await api('sql', { q });
    out.replaceChildren(table('sql-result', r.columns, r.rows), r.truncated ? el('p', { class: 'muted' }, 'first 10000 rows') : null);
  } catch (e) { showError(out, e); }
}
