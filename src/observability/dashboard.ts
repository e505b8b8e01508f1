/**
 * The admin listener's dashboard (issue 12): one self-contained page, served
 * by `GET /` from this string. No CDN, no build step, no other file: the CSS
 * and the script are inline, and the Content-Security-Policy allows exactly
 * those two (by hash), requests to this origin and nothing else.
 *
 * Once a second it polls `/stats` and `/backends` (rates come from successive
 * samples), draws the last 15 minutes from `/stats`'s history plus what it has
 * polled since, and drains or undrains a backend with its buttons. When a
 * request gets 401 it asks for the admin token once, keeps it in
 * sessionStorage and sends it as `Authorization: Bearer TOKEN` from then on.
 *
 * Stable hooks for tests and scripts: #tunnels-active, #handshakes-rate,
 * #bytes-rate, #handshakes-total, #rejected-total, #bytes-total (each with
 * data-value), #close-codes li[data-close-code], #chart-tunnels and
 * #chart-handshakes (data-points), rows tr[data-route][data-backend-id] with
 * data-draining and data-healthy, cells td[data-field], buttons
 * button[data-action="drain"|"undrain"], #token-form, #status[data-state].
 */
import { createHash } from 'node:crypto';

const STYLE = String.raw`
:root { color-scheme: light dark; --fg: #1d232a; --muted: #66707a; --bg: #f6f7f9; --card: #fff; --line: #dde1e6;
  --accent: #2f6fdb; --accent2: #d9822b; --ok: #1e8a4c; --bad: #c93636; --warn: #b7791f; }
@media (prefers-color-scheme: dark) { :root { --fg: #e3e6ea; --muted: #98a2ad; --bg: #14181d; --card: #1d2228; --line: #313840; } }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; align-items: baseline; gap: 1rem; padding: .8rem 1.5rem; border-bottom: 1px solid var(--line); background: var(--card); }
h1 { font-size: 1.2rem; margin: 0; } h2 { font-size: 1rem; margin: 0 0 .6rem; }
#status { color: var(--muted); font-size: .85rem; }
#status[data-state="error"], #status[data-state="auth"] { color: var(--bad); }
main { padding: 1rem 1.5rem; display: grid; gap: 1rem; max-width: 1200px; }
section, #token-form { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: .8rem 1rem; }
#token-form { margin: 1rem 1.5rem 0; display: flex; gap: .6rem; align-items: center; flex-wrap: wrap; max-width: 1200px; }
#token-form[hidden] { display: none; }
#token-message { color: var(--bad); }
#figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(120px, 1fr)); gap: .8rem; }
.figure .label { display: block; color: var(--muted); font-size: .8rem; }
.figure .value { font-size: 1.6rem; font-variant-numeric: tabular-nums; }
#charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 1rem; }
figure { margin: 0; } figcaption { display: flex; justify-content: space-between; color: var(--muted); font-size: .8rem; }
svg.chart { width: 100%; height: 110px; display: block; border-bottom: 1px solid var(--line); }
svg.chart polyline { fill: none; stroke-width: 2; }
#chart-tunnels polyline { stroke: var(--accent); } #chart-handshakes polyline { stroke: var(--accent2); }
#chart-tunnels polygon { fill: var(--accent); opacity: .12; } #chart-handshakes polygon { fill: var(--accent2); opacity: .12; }
.axis { display: flex; justify-content: space-between; color: var(--muted); font-size: .75rem; }
#close-codes { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: .5rem; }
#close-codes li { border: 1px solid var(--line); border-radius: 4px; padding: .2rem .5rem; font-variant-numeric: tabular-nums; }
#close-codes .name { color: var(--muted); margin: 0 .4rem; }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { color: var(--muted); font-weight: 500; font-size: .8rem; }
td[data-field="id"], td[data-field="address"] { font-family: ui-monospace, monospace; }
td[data-field="health"] { color: var(--ok); } tr[data-healthy="false"] td[data-field="health"] { color: var(--bad); font-weight: 600; }
tr[data-draining="true"] td { background: color-mix(in srgb, var(--warn) 12%, transparent); }
tr[data-draining="true"] td[data-field="state"] { color: var(--warn); font-weight: 600; }
button { font: inherit; padding: .15rem .6rem; border-radius: 4px; border: 1px solid var(--line); background: var(--bg); color: var(--fg); cursor: pointer; }
button:disabled { opacity: .4; cursor: default; }
.routes { display: grid; gap: 1rem; }
.empty { color: var(--muted); }
`;

const SCRIPT = String.raw`
'use strict';
const TOKEN_KEY = 'wsgate-admin-token';
const WINDOW_MS = 15 * 60 * 1000;
const POLL_MS = 1000;
const CLOSE_NAMES = { 1000: 'normal', 1001: 'going away', 1002: 'protocol error', 1003: 'unsupported data', 1005: 'no code',
  1006: 'abnormal', 1007: 'invalid data', 1008: 'policy', 1009: 'too big', 1010: 'extension', 1011: 'server error',
  1012: 'restart', 1013: 'try later', 1015: 'TLS', abnormal: 'no Close frame' };
const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem(TOKEN_KEY);
let waitingForToken = false;
let timer;
let running = false;
let again = false;
let last = null;
let series = [];
let layout = '';
const rows = new Map();

class Unauthorized extends Error {}

async function api(method, path) {
  const headers = {};
  if (token) headers.authorization = 'Bearer ' + token;
  const response = await fetch(path, { method, headers, cache: 'no-store' });
  if (response.status === 401) throw new Unauthorized('token needed');
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(body.error || 'HTTP ' + response.status);
    error.status = response.status;
    throw error;
  }
  return body;
}

function setStatus(state, text) {
  const status = $('status');
  status.dataset.state = state;
  status.textContent = text;
}

function el(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function fmtCount(n) { return Number(n).toLocaleString('en-US'); }
function fmtRate(n) { return n >= 100 ? fmtCount(Math.round(n)) : n.toFixed(1); }
function fmtBytes(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? String(Math.round(n)) : n.toFixed(n < 10 ? 2 : 1)) + ' ' + units[i];
}
function figure(id, value, text) {
  const node = $(id);
  node.dataset.value = value === null ? '' : String(value);
  node.textContent = value === null ? '–' : text;
}

function ratesBetween(a, b) {
  const seconds = (b.at - a.at) / 1000;
  if (!(seconds > 0)) return null;
  // A total that went down means the gateway restarted: count from zero.
  const delta = (x, y) => (y >= x ? y - x : y);
  return { handshakes: delta(a.handshakesTotal, b.handshakesTotal) / seconds, bytes: delta(a.bytesTotal, b.bytesTotal) / seconds };
}

function addSample(sample) {
  if (last !== null && sample.at <= last.at) return undefined;
  const rates = last === null ? null : ratesBetween(last, sample);
  series.push({ at: sample.at, tunnels: sample.tunnelsActive, handshakes: rates ? rates.handshakes : 0 });
  series = series.filter((point) => point.at >= sample.at - WINDOW_MS);
  last = sample;
  return rates;
}

function showStats(stats) {
  if (last === null) for (const sample of stats.history) addSample(sample);
  const rates = addSample(stats.now);
  const now = stats.now;
  $('figures').dataset.available = 'true';
  figure('tunnels-active', now.tunnelsActive, String(now.tunnelsActive));
  figure('handshakes-total', now.handshakesTotal, fmtCount(now.handshakesTotal));
  figure('rejected-total', now.rejectedTotal, fmtCount(now.rejectedTotal));
  figure('bytes-total', now.bytesTotal, fmtBytes(now.bytesTotal));
  if (rates !== undefined) {
    figure('handshakes-rate', rates && Math.round(rates.handshakes * 10) / 10, rates && fmtRate(rates.handshakes));
    figure('bytes-rate', rates && Math.round(rates.bytes), rates && fmtBytes(rates.bytes) + '/s');
  }
  showCloseCodes(now.closeCodes);
  drawChart('chart-tunnels', 'tunnels', now.at);
  drawChart('chart-handshakes', 'handshakes', now.at);
}

function showCloseCodes(codes) {
  const entries = Object.entries(codes).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const items = entries.map(([code, count]) => {
    const item = el('li', { 'data-close-code': code, 'data-count': String(count) });
    item.append(el('span', { class: 'code' }, code), el('span', { class: 'name' }, CLOSE_NAMES[code] || ''), el('span', { class: 'count' }, fmtCount(count)));
    return item;
  });
  $('close-codes').replaceChildren(...(items.length > 0 ? items : [el('li', { class: 'empty' }, 'no closed tunnels yet')]));
}

function fmtSpan(ms) { return ms >= 90000 ? '−' + Math.round(ms / 60000) + ' min' : '−' + Math.round(ms / 1000) + ' s'; }

function drawChart(id, key, end) {
  const svg = $(id);
  const width = 600;
  const height = 100;
  // The last 15 minutes, or less while the gateway is younger (at least a minute).
  const span = Math.min(WINDOW_MS, Math.max(60000, series.length > 0 ? end - series[0].at : 0));
  const start = end - span;
  const max = Math.max(0, ...series.map((point) => point[key]));
  const top = max <= 5 ? Math.max(1, Math.ceil(max)) : Math.ceil(max / 5) * 5;
  const xy = series.map((point) => [((point.at - start) / span) * width, height - (point[key] / top) * (height - 4)]);
  const line = xy.map(([x, y]) => x.toFixed(1) + ',' + y.toFixed(1)).join(' ');
  svg.querySelector('polyline').setAttribute('points', line);
  svg.querySelector('polygon').setAttribute('points', xy.length > 0 ? xy[0][0].toFixed(1) + ',' + height + ' ' + line + ' ' + xy[xy.length - 1][0].toFixed(1) + ',' + height : '');
  svg.dataset.points = String(xy.length);
  $(id + '-max').textContent = 'max ' + (key === 'tunnels' ? fmtCount(max) : fmtRate(max)) + ' · top of scale ' + top;
  $(id + '-span').textContent = fmtSpan(span);
}

function showNoStats() {
  for (const id of ['tunnels-active', 'handshakes-rate', 'bytes-rate', 'handshakes-total', 'rejected-total', 'bytes-total']) figure(id, null);
  $('figures').dataset.available = 'false';
}

function rowKey(route, id) { return route + '\n' + id; }

function buildRoutes(routes) {
  rows.clear();
  const sections = routes.map((route) => {
    const section = el('section', { class: 'route', 'data-route': route.route });
    section.append(el('h2', {}, 'route ' + route.route));
    const table = el('table');
    const head = el('tr');
    for (const name of ['id', 'address', 'health', 'check', 'weight', 'tunnels', 'state', '']) head.append(el('th', {}, name));
    table.append(el('thead'), el('tbody'));
    table.tHead.append(head);
    for (const backend of route.backends) {
      const row = el('tr', { 'data-route': route.route, 'data-backend-id': backend.id });
      for (const field of ['id', 'address', 'health', 'check', 'weight', 'activeTunnels', 'state']) row.append(el('td', { 'data-field': field }));
      const actions = el('td', { 'data-field': 'actions' });
      actions.append(el('button', { type: 'button', 'data-action': 'drain' }, 'Drain'), document.createTextNode(' '), el('button', { type: 'button', 'data-action': 'undrain' }, 'Undrain'));
      row.append(actions);
      table.tBodies[0].append(row);
      rows.set(rowKey(route.route, backend.id), row);
    }
    section.append(table);
    return section;
  });
  $('routes').replaceChildren(...(sections.length > 0 ? sections : [el('p', { class: 'empty' }, 'no routes')]));
}

function showRoutes(routes) {
  const signature = JSON.stringify(routes.map((route) => [route.route, route.backends.map((backend) => backend.id)]));
  if (signature !== layout) {
    buildRoutes(routes);
    layout = signature;
  }
  for (const route of routes) {
    for (const backend of route.backends) {
      const row = rows.get(rowKey(route.route, backend.id));
      const cell = (field) => row.querySelector('td[data-field="' + field + '"]');
      row.dataset.healthy = String(backend.healthy);
      row.dataset.draining = String(backend.draining);
      row.dataset.activeTunnels = String(backend.activeTunnels);
      cell('id').textContent = backend.id;
      cell('address').textContent = backend.address + (backend.tls ? ' (TLS)' : '');
      cell('health').textContent = backend.healthy ? 'healthy' : backend.passive && backend.passive.ejectedUntil ? 'ejected' : 'unhealthy';
      const check = backend.check;
      cell('check').textContent = check ? check.type + (check.path ? ' ' + check.path : '') + ': ' + check.status : '–';
      cell('check').title = check && check.lastResult ? check.lastResult.detail + ' at ' + check.lastResult.at : '';
      cell('weight').textContent = String(backend.weight);
      cell('activeTunnels').textContent = String(backend.activeTunnels);
      cell('state').textContent = backend.draining ? 'draining' : 'in rotation';
      if (!row.dataset.busy) {
        row.querySelector('button[data-action="drain"]').disabled = backend.draining;
        row.querySelector('button[data-action="undrain"]').disabled = !backend.draining;
      }
    }
  }
}

async function refresh() {
  if (waitingForToken) return;
  if (running) { again = true; return; }
  running = true;
  clearTimeout(timer);
  try {
    const [stats, backends] = await Promise.all([
      api('GET', '/stats').catch((error) => (error.status === 404 ? null : Promise.reject(error))),
      api('GET', '/backends'),
    ]);
    if (stats) showStats(stats); else showNoStats();
    showRoutes(backends.routes);
    setStatus('ok', (stats ? 'live' : 'live (this gateway has no /stats)') + ' · ' + new Date().toLocaleTimeString());
  } catch (error) {
    if (error instanceof Unauthorized) askForToken();
    else setStatus('error', 'refresh failed: ' + error.message);
  } finally {
    running = false;
  }
  if (again) { again = false; refresh(); return; }
  if (!waitingForToken && !document.hidden) timer = setTimeout(refresh, POLL_MS);
}

function askForToken() {
  if (waitingForToken) return;
  waitingForToken = true;
  clearTimeout(timer);
  if (token) {
    $('token-message').textContent = 'That token was refused.';
    sessionStorage.removeItem(TOKEN_KEY);
    token = null;
  }
  $('token-form').hidden = false;
  setStatus('auth', 'this admin API needs a token');
  $('token-input').focus();
}

$('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const value = $('token-input').value.trim();
  if (!value) return;
  token = value;
  sessionStorage.setItem(TOKEN_KEY, token);
  $('token-input').value = '';
  $('token-message').textContent = '';
  $('token-form').hidden = true;
  waitingForToken = false;
  refresh();
});

$('routes').addEventListener('click', async (event) => {
  const button = event.target.closest('button[data-action]');
  if (!button || button.disabled) return;
  const row = button.closest('tr');
  const action = button.dataset.action;
  const id = row.dataset.backendId;
  row.dataset.busy = 'true';
  for (const b of row.querySelectorAll('button')) b.disabled = true;
  try {
    await api('POST', '/backends/' + encodeURIComponent(id) + '/' + action);
  } catch (error) {
    if (error instanceof Unauthorized) askForToken();
    else setStatus('error', action + ' ' + id + ' failed: ' + error.message);
  } finally {
    delete row.dataset.busy;
  }
  refresh();
});

document.addEventListener('visibilitychange', () => { if (!document.hidden) refresh(); });
refresh();
`;

const BODY = `
<header><h1>wsgate</h1><span id="status" data-state="loading">loading…</span></header>
<form id="token-form" hidden>
  <label for="token-input">Admin token</label>
  <input id="token-input" type="password" autocomplete="current-password" required>
  <button type="submit">Use token</button>
  <span id="token-message"></span>
</form>
<main>
  <section id="figures">
    <div class="figure"><span class="label">tunnels active</span><span class="value" id="tunnels-active">–</span></div>
    <div class="figure"><span class="label">handshakes/s</span><span class="value" id="handshakes-rate">–</span></div>
    <div class="figure"><span class="label">traffic</span><span class="value" id="bytes-rate">–</span></div>
    <div class="figure"><span class="label">handshakes since start</span><span class="value" id="handshakes-total">–</span></div>
    <div class="figure"><span class="label">refused by wsgate</span><span class="value" id="rejected-total">–</span></div>
    <div class="figure"><span class="label">bytes since start</span><span class="value" id="bytes-total">–</span></div>
  </section>
  <section id="charts">
    <figure>
      <figcaption><span>tunnels active</span><span id="chart-tunnels-max"></span></figcaption>
      <svg class="chart" id="chart-tunnels" viewBox="0 0 600 100" preserveAspectRatio="none" role="img" aria-label="tunnels active, last 15 minutes"><polygon/><polyline vector-effect="non-scaling-stroke"/></svg>
      <div class="axis"><span id="chart-tunnels-span">−15 min</span><span>now</span></div>
    </figure>
    <figure>
      <figcaption><span>handshakes/s</span><span id="chart-handshakes-max"></span></figcaption>
      <svg class="chart" id="chart-handshakes" viewBox="0 0 600 100" preserveAspectRatio="none" role="img" aria-label="handshakes per second, last 15 minutes"><polygon/><polyline vector-effect="non-scaling-stroke"/></svg>
      <div class="axis"><span id="chart-handshakes-span">−15 min</span><span>now</span></div>
    </figure>
  </section>
  <section><h2>Close codes</h2><ul id="close-codes"><li class="empty">–</li></ul></section>
  <div class="routes" id="routes"></div>
</main>
`;

if (SCRIPT.includes('</') || STYLE.includes('</')) throw new Error('the dashboard script and style must not contain "</"');

function cspHash(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

/** The page's policy: its own script and style (by hash), requests to its own origin, nothing else. */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  `script-src ${cspHash(SCRIPT)}`,
  `style-src ${cspHash(STYLE)}`,
  "connect-src 'self'",
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>wsgate admin</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>${BODY}<script>${SCRIPT}</script>
</body>
</html>
`;
