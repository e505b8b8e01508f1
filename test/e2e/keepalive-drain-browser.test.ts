import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { startTcpBalancer, type TcpBalancer } from '../../fixtures/tcp-balancer.js';
import { runCli, type CliProcess } from '../helpers/cli.js';
import { startRecordingBackend, type RecordingBackend } from '../helpers/recording-backend.js';

// Issues 5 and 6 with a real browser: Chromium's WebSocket, behind a TCP
// balancer that drops connections idle for 2 s, stays open through wsgate with
// pings on (Chromium answers them; its pongs reach the ws backend as
// unsolicited pongs, RFC 6455 5.5.3, and change nothing there), and gets a
// Close 1001 when wsgate drains on SIGTERM.

// Debian's chromium, as .ci/run installs it; the flags keep it off the (closed) network.
const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

let browser: Browser;
let backend: RecordingBackend;
let cli: CliProcess;
let balancer: TcpBalancer;

before(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  backend = await startRecordingBackend({ echoFragments: 2 });
  cli = runCli(['--listen', '127.0.0.1:0', '--route', `/=${backend.address}`, '--ping-interval', '500ms', '--drain-timeout', '500ms']);
  const [, port] = await cli.waitFor(/"port":(\d+)/);
  balancer = await startTcpBalancer({ targetPort: Number(port), idleTimeoutMs: 2000 });
});

after(async () => {
  await browser?.close();
  if (cli?.child.exitCode === null) cli.child.kill('SIGKILL');
  await balancer?.close();
  await backend?.close();
});

test('a page\'s WebSocket outlives a 2 s balancer idle timeout with pings on, and gets 1001 when wsgate drains', { timeout: 60_000 }, async () => {
  const page = await browser.newPage();
  // Any page of the balancer's origin will do; the backend answers plain GETs.
  await page.goto(`http://127.0.0.1:${balancer.port}/page`);
  // In-page code is given as strings: this project compiles without the DOM library.
  await page.evaluate(`
    window.events = [];
    window.socket = new WebSocket('ws://' + location.host + '/chat');
    socket.onopen = () => events.push('open');
    socket.onmessage = (event) => events.push('message ' + event.data);
    socket.onclose = (event) => events.push('close ' + event.code);
  `);
  await page.waitForFunction("window.events.includes('open')", undefined, { timeout: 10_000 });

  // Five seconds without a message of its own: the balancer would have cut it at 2 s.
  await sleep(5000);
  // (The balancer did cut the page's idle keep-alive HTTP connection: that one has nobody to ping it.)
  assert.equal(await page.evaluate('window.socket.readyState'), 1, 'still open');
  assert.ok(backend.pongs >= 5, `Chromium answered the pings; the backend got ${backend.pongs} pongs`);
  assert.deepEqual(backend.errors, []);
  await page.evaluate("window.socket.send('still there')");
  await page.waitForFunction("window.events.includes('message still there')", undefined, { timeout: 5000 });

  cli.child.kill('SIGTERM');
  await page.waitForFunction("window.events.some((e) => e.startsWith('close'))", undefined, { timeout: 10_000 });
  const events: string[] = await page.evaluate('window.events');
  assert.deepEqual(events, ['open', 'message still there', 'close 1001']);
  assert.equal(await cli.exited, 0);
  await sleep(100);
  assert.deepEqual(backend.closeCodes, [1001], 'the backend got a masked 1001 too');
  await page.close();
});
