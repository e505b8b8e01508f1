import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { runCli, type CliProcess } from '../helpers/cli.js';

// Debian's chromium, as .ci/run installs it; the flags keep it off the (closed) network.
const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];

let browser: Browser;
let demo: CliProcess;
let where: string;

before(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  demo = runCli(['demo', '--listen', '127.0.0.1:0']);
  [, where = ''] = await demo.waitFor(/Browser: +http:\/\/(127\.0\.0\.1:\d+)\/echo\//);
});

after(async () => {
  await browser?.close();
  demo?.child.kill('SIGTERM');
  await demo?.exited;
});

test('the demo page opens a WebSocket through wsgate in a real browser and gets echoes', async () => {
  const page = await browser.newPage();
  await page.goto(`http://${where}/echo/`);
  // In-page code is given as strings: this project compiles without the DOM library.
  await page.waitForFunction("document.getElementById('status').textContent.startsWith('WebSocket open')", undefined, { timeout: 10_000 });
  // "whoami" is answered by the backend the tunnel is pinned to; echoes follow once a second.
  await page.waitForFunction("document.querySelectorAll('#log li').length >= 2", undefined, { timeout: 10_000 });
  const items: string[] = await page.evaluate("[...document.querySelectorAll('#log li')].map((n) => n.textContent)");
  const whoami = items.find((text) => text.startsWith('{'));
  assert.ok(whoami, `a whoami answer among ${JSON.stringify(items)}`);
  assert.match(JSON.parse(whoami).backend, /^b[12]$/);
  assert.ok(items.some((text) => /^message \d+$/.test(text)), `an echoed message among ${JSON.stringify(items)}`);
  await page.close();
});
