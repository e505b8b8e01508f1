import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { startEchoBackend, type EchoBackend } from '../../fixtures/echo-backend.js';
import { closed, openClient } from '../helpers/clients.js';
import { runCli } from '../helpers/cli.js';

function echo(url: string): Promise<{ backendId: string | undefined; reply: string }> {
  return openClient(url).then(
    ({ ws, backendId }) =>
      new Promise((resolve) => {
        ws.once('message', (data) => {
          ws.close();
          void closed(ws).then(() => resolve({ backendId, reply: data.toString() }));
        });
        ws.send('whoami');
      }),
  );
}

describe('the wsgate command', () => {
  let chat: EchoBackend[];
  let feed: EchoBackend;

  before(async () => {
    chat = await Promise.all([startEchoBackend({ id: 'c1' }), startEchoBackend({ id: 'c2' })]);
    feed = await startEchoBackend({ id: 'f' });
  });
  after(async () => Promise.all([...chat, feed].map((b) => b.close())));

  test('routes by flags as the README says, logs JSON, and exits 0 on SIGTERM', async () => {
    const cli = runCli([
      '--listen', '127.0.0.1:0',
      '--route', `/chat=${chat.map((b) => b.address).join(',')}`,
      '--route', `/feed=${feed.address}`,
    ]);
    const [, port] = await cli.waitFor(/"port":(\d+)/);
    const seen = new Set<string | undefined>();
    for (let i = 0; i < 4; i++) seen.add((await echo(`ws://127.0.0.1:${port}/chat/room1`)).backendId);
    assert.deepEqual([...seen].sort(), ['c1', 'c2']);
    const fed = await echo(`ws://127.0.0.1:${port}/feed`);
    assert.equal(fed.backendId, 'f');
    assert.equal(JSON.parse(fed.reply).backend, 'f');
    const plain = await fetch(`http://127.0.0.1:${port}/chat/history`);
    assert.equal(plain.status, 200);
    await plain.text();
    cli.child.kill('SIGTERM');
    assert.equal(await cli.exited, 0);
    const lines = cli.stdout.trim().split('\n').map((l) => JSON.parse(l) as { msg: string });
    assert.equal(lines.filter((l) => l.msg === 'tunnel closed').length, 5);
  });

  test('`wsgate demo` starts two echo backends and a gateway and prints the URL to try', async () => {
    const cli = runCli(['demo', '--listen', '127.0.0.1:0']);
    const [, where] = await cli.waitFor(/WebSocket: ws:\/\/(127\.0\.0\.1:\d+)\/echo/);
    const seen = new Set<string>();
    for (let i = 0; i < 2; i++) seen.add(JSON.parse((await echo(`ws://${where}/echo`)).reply).backend);
    assert.deepEqual([...seen].sort(), ['b1', 'b2']);
    const page = await fetch(`http://${where}/echo/`, { headers: { accept: 'text/html' } });
    assert.match(await page.text(), /wsgate demo/);
    cli.child.kill('SIGINT');
    assert.equal(await cli.exited, 0);
  });

  test('--help documents every flag with an example', async () => {
    const cli = runCli(['--help']);
    assert.equal(await cli.exited, 0);
    for (const flag of ['--listen', '--route', '--log-level', '--connect-timeout', '--response-timeout', 'demo', 'Examples:']) {
      assert.ok(cli.stdout.includes(flag), `--help mentions ${flag}`);
    }
  });

  test('the built bin runs on its own, as the `wsgate` link that npm and npx make runs it', () => {
    // A fresh `npm run build` must leave dist/src/cli.js executable: npm sets the bit only when it
    // first links a bin, so a rebuilt or re-cloned checkout that npx already knew failed with EACCES.
    const bin = fileURLToPath(new URL('../../src/cli.js', import.meta.url));
    const run = spawnSync(bin, ['--help'], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(run.error, undefined, `spawning ${bin}: ${run.error?.message ?? ''}`);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^Usage: wsgate /);
  });

  test('bad flags exit 2 with a message that names the problem', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--route', 'chat=127.0.0.1:1'], /prefix must start with "\/"/],
      [['--route', '/chat=127.0.0.1:99999'], /not a valid port/],
      [['--route', '/chat=ftp://x:1'], /not a backend scheme/],
      [['--listen', 'nowhere', '--route', '/=127.0.0.1:1'], /not HOST:PORT/],
      [[], /at least one --route/],
      [['--log-level', 'loud', '--route', '/=127.0.0.1:1'], /loud/],
    ];
    for (const [args, message] of cases) {
      const cli = runCli(args);
      assert.equal(await cli.exited, 2, args.join(' '));
      assert.match(cli.stderr, message, args.join(' '));
    }
  });

  test("every error has one style, commander's own included: wsgate: <where>: <what>", async () => {
    for (const args of [['--log-format', 'xml', '--route', '/=127.0.0.1:1'], ['--no-such-flag'], ['check', '--nope'], ['--drain-timeout', '30', '--route', '/=127.0.0.1:1']]) {
      const cli = runCli(args);
      assert.equal(await cli.exited, 2, args.join(' '));
      assert.match(cli.stderr, /^wsgate: /, `${args.join(' ')}: ${cli.stderr}`);
      assert.doesNotMatch(cli.stderr, /^error: /m);
    }
  });

  test('a port already in use exits 1 with a clear message', async () => {
    const cli = runCli(['--listen', feed.address, '--route', `/=${feed.address}`]);
    assert.equal(await cli.exited, 1);
    assert.match(cli.stderr, /cannot listen: .*EADDRINUSE/);
  });
});
