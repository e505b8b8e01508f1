/**
 * Issue 13: errors of wsgate's own process are not backend faults. With few
 * descriptors and a flood of upgrades, connects to healthy backends fail with
 * EMFILE: those clients get 503 ERR_GATEWAY_RESOURCES, the backends are never
 * ejected, and the next client once the flood is over is served at once.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { startEchoBackend, type EchoBackend } from '../../fixtures/echo-backend.js';
import { closed, openClient } from '../helpers/clients.js';
import { runCli } from '../helpers/cli.js';

let backends: EchoBackend[];

before(async () => {
  backends = await Promise.all([startEchoBackend({ id: 'a' }), startEchoBackend({ id: 'b' })]);
});
after(async () => Promise.all(backends.map((b) => b.close())));

interface Outcome {
  readonly status: number | 'open' | 'error';
  readonly code?: string;
}

function attempt(url: string): Promise<{ outcome: Outcome; ws: WebSocket }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve({ outcome: { status: 'open' }, ws }));
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      resolve({ outcome: { status: res.statusCode ?? 0, code: res.headers['x-wsgate-error'] as string | undefined }, ws });
    });
    ws.once('error', () => resolve({ outcome: { status: 'error' }, ws }));
  });
}

test('EMFILE while connecting to backends: 503 ERR_GATEWAY_RESOURCES, no backend ejected, served again at once', { timeout: 60_000 }, async () => {
  const cli = runCli(['--listen', '127.0.0.1:0', '--max-connections', '10000', '--route', `/e=${backends.map((b) => b.address).join(',')}`], { fdLimit: 100 });
  try {
    const [, port] = await cli.waitFor(/"port":(\d+),"routes":\d+,"tls":false,"msg":"listening"/);
    const url = `ws://127.0.0.1:${port}/e`;
    const flood = await Promise.all(Array.from({ length: 150 }, () => attempt(url)));
    const outcomes = flood.map((f) => f.outcome);
    for (const { ws } of flood) ws.terminate();
    const resources = outcomes.filter((o) => o.status === 503 && o.code === 'ERR_GATEWAY_RESOURCES').length;
    assert.ok(resources > 0, `some upgrades met EMFILE: ${JSON.stringify(outcomes.slice(0, 5))}`);
    assert.equal(outcomes.filter((o) => o.code === 'ERR_UPSTREAM_BAD_RESPONSE' || o.code === 'ERR_UPSTREAM_NO_HEALTHY').length, 0);
    // The same for plain requests (http-proxy's path): a flood of GETs on fresh connections.
    const plain = await Promise.all(
      Array.from({ length: 150 }, () =>
        // Bounded: a connection the gateway could not accept (EMFILE) is reset or, at worst, never answered.
        fetch(`http://127.0.0.1:${port}/e/plain`, { headers: { connection: 'close' }, signal: AbortSignal.timeout(3000) }).then(
          async (response) => ({ status: response.status, code: response.headers.get('x-wsgate-error'), body: await response.text() }),
          () => ({ status: 0, code: null, body: '' }),
        ),
      ),
    );
    assert.equal(plain.filter((r) => r.code === 'ERR_UPSTREAM_BAD_RESPONSE' || r.code === 'ERR_UPSTREAM_NO_HEALTHY' || r.code === 'ERR_UPSTREAM_UNAVAILABLE').length, 0);
    assert.ok(plain.every((r) => r.status === 0 || r.status === 200 || r.code === 'ERR_GATEWAY_RESOURCES'), JSON.stringify(plain.filter((r) => r.status !== 200).slice(0, 3)));
    // Once the flood is gone, the next client is served at once: no backend was ejected.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const { ws } = await openClient(`${url}/after`);
    ws.close();
    await closed(ws);
    assert.doesNotMatch(cli.stdout, /"msg":"backend down"/);
    assert.match(cli.stdout, /"code":"ERR_GATEWAY_RESOURCES".*"detail":"EMFILE/);
  } finally {
    cli.child.kill('SIGKILL');
    await cli.exited;
  }
});

test('without --max-connections the cap follows the descriptor limit: beyond it connections are refused at accept, not half-served', { timeout: 60_000 }, async () => {
  // 300 descriptors: a reserve of 64, then two per connection: 118.
  const cli = runCli(['--listen', '127.0.0.1:0', '--route', `/e=${backends.map((b) => b.address).join(',')}`], { fdLimit: 300 });
  try {
    const [, port] = await cli.waitFor(/"port":(\d+),"routes":\d+,"tls":false,"msg":"listening"/);
    await cli.waitFor(/"descriptorLimit":300,"maxConnections":118,"derived":true,"msg":"connection limit"/);
    assert.match(cli.stdout, /"msg":"the descriptor limit allows fewer than 10,000 connections/);
    const flood = await Promise.all(Array.from({ length: 160 }, () => attempt(`ws://127.0.0.1:${port}/e`)));
    const outcomes = flood.map((f) => f.outcome);
    const open = outcomes.filter((o) => o.status === 'open').length;
    assert.ok(open >= 100 && open <= 118, `${open} tunnels opened`);
    // The rest were closed at accept: no half-served upgrade, no descriptor trouble.
    assert.equal(outcomes.filter((o) => typeof o.status === 'number').length, 0, JSON.stringify(outcomes.filter((o) => typeof o.status === 'number').slice(0, 3)));
    // Log lines are written in batches (every 250 ms at the latest).
    await cli.waitFor(/"msg":"connection refused: global connection limit reached"/, 3000);
    assert.doesNotMatch(cli.stdout, /EMFILE|ERR_GATEWAY_RESOURCES/);
    for (const { ws } of flood) ws.terminate();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const { ws } = await openClient(`ws://127.0.0.1:${port}/e/after`);
    ws.close();
    await closed(ws);
  } finally {
    cli.child.kill('SIGKILL');
    await cli.exited;
  }
});
