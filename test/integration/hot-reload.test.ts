import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startEchoBackend, type EchoBackend } from '../../fixtures/echo-backend.js';
import { closed, expectRefusal, openClient } from '../helpers/clients.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp-dir.js';

let a: EchoBackend;
let b: EchoBackend;

before(async () => {
  [a, b] = await Promise.all([startEchoBackend({ id: 'a' }), startEchoBackend({ id: 'b' })]);
});
after(async () => Promise.all([a.close(), b.close()]));

function echoOnce(ws: import('ws').WebSocket, text: string): Promise<string> {
  return new Promise((resolve) => {
    ws.once('message', (data) => resolve(data.toString()));
    ws.send(text);
  });
}

test('SIGHUP applies a new route to new connections, keeps old tunnels, and refuses a broken file', { timeout: 30_000 }, async () => {
  const dir = tempDir('wsgate-reload-');
  const file = join(dir, 'wsgate.yaml');
  writeFileSync(file, `listen: 127.0.0.1:0\nroutes:\n  - path: /chat\n    backends: ["${a.address}"]\n`);
  const cli = runCli(['--config', file]);
  const [, port] = await cli.waitFor(/"port":(\d+)/);
  const old = await openClient(`ws://127.0.0.1:${port}/chat`);
  assert.equal(old.backendId, 'a');
  assert.equal((await expectRefusal(`ws://127.0.0.1:${port}/feed`)).status, 404);

  // A new route, and /chat moved to the other backend.
  writeFileSync(file, `listen: 127.0.0.1:0\nroutes:\n  - path: /chat\n    backends: ["${b.address}"]\n  - path: /feed\n    backends: ["${a.address}"]\n`);
  cli.child.kill('SIGHUP');
  await cli.waitFor(/configuration reloaded/);
  const fed = await openClient(`ws://127.0.0.1:${port}/feed`);
  assert.equal(fed.backendId, 'a');
  const moved = await openClient(`ws://127.0.0.1:${port}/chat`);
  assert.equal(moved.backendId, 'b');
  // The tunnel opened before the reload still works, on its original backend.
  assert.equal(JSON.parse(await echoOnce(old.ws, 'whoami')).backend, 'a');

  // A broken file is refused; the configuration in force stays.
  writeFileSync(file, `listen: 127.0.0.1:0\nroutes:\n  - path: feed-without-slash\n    backends: []\n`);
  cli.child.kill('SIGHUP');
  await cli.waitFor(/configuration reload refused/);
  const stillFed = await openClient(`ws://127.0.0.1:${port}/feed`);
  assert.equal(stillFed.backendId, 'a');
  assert.equal(JSON.parse(await echoOnce(old.ws, 'whoami')).backend, 'a');

  for (const ws of [old.ws, fed.ws, moved.ws, stillFed.ws]) {
    ws.close();
    await closed(ws);
  }
  cli.child.kill('SIGTERM');
  assert.equal(await cli.exited, 0);
  assert.match(cli.stdout, /"problems":\[".*routes\.0\.path/);
});
