import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { chromium, type Browser, type Page } from 'playwright-core';
import type WebSocket from 'ws';
import { startEchoBackend, type EchoBackend } from '../../fixtures/echo-backend.js';
import { validateConfig } from '../../src/index.js';
import { AdminServer } from '../../src/observability/admin.js';
import { RouteTable } from '../../src/routing/route-table.js';
import { deriveBackendId } from '../../src/upstream/backend-id.js';
import { HealthMonitor, routeHealthSettings } from '../../src/upstream/health-monitor.js';
import { closed, openClient } from '../helpers/clients.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';

// Issue 12: the admin dashboard in a real browser. The gateway's own admin
// listener (`admin`), its /stats and /backends, real tunnels through it to two
// echo backends (round-robin), and the page's Drain button.

// Debian's chromium, as .ci/run installs it; the flags keep it off the (closed) network.
const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];
const ARTIFACTS = join(process.cwd(), 'test-artifacts');

let browser: Browser;
let a: EchoBackend, b: EchoBackend;
let gw: RunningGateway;
let adminUrl: string;
let idA: string, idB: string;

before(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  [a, b] = await Promise.all([startEchoBackend({ id: 'a' }), startEchoBackend({ id: 'b' })]);
  idA = deriveBackendId('127.0.0.1', a.port);
  idB = deriveBackendId('127.0.0.1', b.port);
  gw = await startGateway({ logLevel: 'warn', admin: '127.0.0.1:0', routes: [{ path: '/', backends: [a.address, b.address] }] });
  const admin = gw.gateway.adminAddress();
  assert.ok(admin !== undefined, 'the admin listener is up');
  adminUrl = `http://127.0.0.1:${admin.port}/`;
});

after(async () => {
  await browser?.close();
  await gw?.close();
  await Promise.all([a?.close(), b?.close()]);
});

/** Collects what would show a broken page: script errors and console errors (CSP violations among them). */
function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  return errors;
}

// In-page code is given as strings: this project compiles without the DOM library.
const row = (id: string): string => `document.querySelector('tr[data-backend-id="${id}"]')`;

/**
 * Polls `expression` in the page until it is truthy. Not page.waitForFunction: given a string, it
 * runs it through the page's eval, which the dashboard's Content-Security-Policy forbids (as it should).
 */
async function waitFor(page: Page, expression: string, timeout = 10_000): Promise<void> {
  const deadline = Date.now() + timeout;
  let last: unknown;
  while (Date.now() < deadline) {
    last = await page.evaluate(`(() => { try { return Boolean(${expression}); } catch (error) { return String(error); } })()`);
    if (last === true) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail(`still not true after ${timeout} ms (${String(last)}): ${expression}`);
}

async function tunnelsOnPage(page: Page, active: number, perBackend: Record<string, number>): Promise<void> {
  const checks = [`document.getElementById('tunnels-active').textContent === '${active}'`];
  for (const [id, count] of Object.entries(perBackend)) checks.push(`${row(id)}?.dataset.activeTunnels === '${count}'`);
  await waitFor(page, checks.join(' && '));
}

test('the dashboard shows live tunnels per backend, and its Drain button takes a backend out of rotation', { timeout: 60_000 }, async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = watchErrors(page);
  await page.goto(adminUrl);
  await waitFor(page, `${row(idA)} && ${row(idB)} && document.getElementById('tunnels-active').textContent === '0'`);
  assert.equal(await page.textContent(`tr[data-backend-id="${idA}"] td[data-field="address"]`), a.address);
  assert.equal(await page.getAttribute(`tr[data-backend-id="${idA}"]`, 'data-healthy'), 'true');

  // Three tunnels, round-robin over a and b: two on one, one on the other.
  const clients: Array<{ ws: WebSocket; backendId: string | undefined }> = [];
  for (let i = 0; i < 3; i++) clients.push(await openClient(`ws://${gw.host}/chat/${i}`));
  const count = (id: string): number => clients.filter((c) => c.backendId === id && c.ws.readyState === c.ws.OPEN).length;
  assert.deepEqual([count('a') + count('b'), Math.abs(count('a') - count('b'))], [3, 1]);
  await tunnelsOnPage(page, 3, { [idA]: count('a'), [idB]: count('b') });

  // Some traffic, so the byte figures move.
  for (const { ws } of clients) ws.send('x'.repeat(2000));
  await waitFor(page, "Number(document.getElementById('bytes-total').dataset.value) >= 6000");

  // One closes (Close 1000): 2 active, and its close code is counted.
  const first = clients[0];
  assert.ok(first !== undefined);
  first.ws.close(1000);
  await closed(first.ws);
  await tunnelsOnPage(page, 2, { [idA]: count('a'), [idB]: count('b') });
  await waitFor(page, `document.querySelector('#close-codes li[data-close-code="1000"]')?.dataset.count === '1'`);

  // Drain a from the page.
  await page.click(`tr[data-backend-id="${idA}"] button[data-action="drain"]`);
  await waitFor(page, `${row(idA)}.dataset.draining === 'true' && ${row(idA)}.querySelector('td[data-field="state"]').textContent === 'draining'`);
  assert.equal(gw.gateway.backends()[0]?.backends.find((x) => x.id === idA)?.draining, true, 'the gateway has it draining');
  assert.equal(await page.isDisabled(`tr[data-backend-id="${idA}"] button[data-action="drain"]`), true);
  assert.equal(await page.isEnabled(`tr[data-backend-id="${idA}"] button[data-action="undrain"]`), true);

  // The next tunnels all go to b; a keeps its open tunnel(s).
  for (let i = 0; i < 2; i++) {
    const client = await openClient(`ws://${gw.host}/after-drain/${i}`);
    assert.equal(client.backendId, 'b', 'a draining backend gets no new tunnel');
    clients.push(client);
  }
  await tunnelsOnPage(page, 4, { [idA]: count('a'), [idB]: count('b') });
  await waitFor(page, "document.getElementById('handshakes-total').textContent === '5'");
  await waitFor(page, "Number(document.getElementById('chart-tunnels').dataset.points) >= 3");

  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });

  // Undrain from the page: back in rotation.
  await page.click(`tr[data-backend-id="${idA}"] button[data-action="undrain"]`);
  await waitFor(page, `${row(idA)}.dataset.draining === 'false'`);
  assert.equal(gw.gateway.backends()[0]?.backends.find((x) => x.id === idA)?.draining, false);

  for (const { ws } of clients) if (ws.readyState === ws.OPEN) ws.close(1000);
  await Promise.all(clients.map(({ ws }) => closed(ws)));
  await tunnelsOnPage(page, 0, { [idA]: 0, [idB]: 0 });
  assert.deepEqual(errors, []);
  await page.close();
});

test('with a token, the page asks for it once, keeps it in sessionStorage and sends it on every request', { timeout: 30_000 }, async () => {
  // An AdminServer of its own, with a token, over the same two backends.
  const table = RouteTable.fromConfig(validateConfig({ listen: '127.0.0.1:0', routes: [{ path: '/', backends: [a.address, b.address] }] }));
  const logger = pino({ level: 'silent' });
  const health = new HealthMonitor(routeHealthSettings(table.routes), logger, { rejectUnauthorized: true });
  const admin = new AdminServer({ routes: () => table.routes, health: () => health, logger, token: 'page-token-0123456789' });
  const { port } = await admin.listen('127.0.0.1', 0);
  const page = await browser.newPage();
  const unauthorized: string[] = [];
  page.on('response', (response) => {
    if (response.status() === 401) unauthorized.push(new URL(response.url()).pathname);
  });
  try {
    await page.goto(`http://127.0.0.1:${port}/`);
    await waitFor(page, "!document.getElementById('token-form').hidden && document.getElementById('status').dataset.state === 'auth'");
    assert.equal(await page.$(`tr[data-backend-id="${idA}"]`), null, 'no data without the token');

    await page.fill('#token-input', 'page-token-wrong');
    await page.click('#token-form button[type="submit"]');
    await waitFor(page, "!document.getElementById('token-form').hidden && document.getElementById('token-message').textContent.includes('refused')");
    assert.equal(await page.evaluate("sessionStorage.getItem('wsgate-admin-token')"), null, 'a refused token is not kept');

    await page.fill('#token-input', 'page-token-0123456789');
    await page.click('#token-form button[type="submit"]');
    await waitFor(page, `document.getElementById('token-form').hidden && ${row(idA)} !== null`);
    assert.equal(await page.evaluate("sessionStorage.getItem('wsgate-admin-token')"), 'page-token-0123456789');
    // No stats source here: the page says so and keeps showing the backends.
    await waitFor(page, "document.getElementById('status').textContent.includes('no /stats')");

    // Drain with the token.
    await page.click(`tr[data-backend-id="${idB}"] button[data-action="drain"]`);
    await waitFor(page, `${row(idB)}.dataset.draining === 'true'`);
    assert.equal(table.routes[0]?.pool.backends[1]?.draining, true);

    // A reload keeps the token: no form, data at once.
    const before401 = unauthorized.length;
    await page.reload();
    await waitFor(page, `${row(idA)} !== null`);
    assert.equal(await page.isHidden('#token-form'), true);
    assert.equal(unauthorized.length, before401, 'no 401 after the reload');
  } finally {
    await page.close();
    await admin.close();
  }
});
