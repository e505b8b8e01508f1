import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { startEchoBackend, type EchoBackend } from '../../fixtures/echo-backend.js';
import { closed, expectRefusal, openClient } from '../helpers/clients.js';
import { startGateway } from '../helpers/gateway.js';

// A backend whose accept queue is full: a process that listens with a backlog
// of 1 and then blocks its event loop, so the kernel stops answering SYNs and
// a connect to it hangs, as to a host that went away behind a firewall.
const BLACK_HOLE = `
const net = require('node:net');
const server = net.createServer();
server.listen(0, '127.0.0.1', 1, () => {
  process.stdout.write(server.address().port + '\\n');
  setTimeout(() => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20000), 200);
});
`;

let hole: ChildProcess;
let holePort: number;
const fillers: Socket[] = [];
let live: EchoBackend;

before(async () => {
  live = await startEchoBackend({ id: 'live' });
  hole = spawn(process.execPath, ['-e', BLACK_HOLE], { stdio: ['ignore', 'pipe', 'inherit'] });
  holePort = await new Promise<number>((resolve) => hole.stdout?.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim()))));
  await new Promise((r) => setTimeout(r, 400));
  // Fill the accept queue (backlog + 1 on Linux) so further SYNs are dropped.
  for (let i = 0; i < 4; i++) {
    const socket = connect(holePort, '127.0.0.1');
    socket.on('error', () => {});
    fillers.push(socket);
  }
  await new Promise((r) => setTimeout(r, 300));
});

after(async () => {
  for (const socket of fillers) socket.destroy();
  hole.kill('SIGKILL');
  await live.close();
});

test('a backend that does not accept within --connect-timeout is skipped for the next; alone it gives 502', { timeout: 20_000 }, async () => {
  const gw = await startGateway({
    timeouts: { backendConnect: '300ms' },
    routes: [
      { path: '/pair', backends: [`127.0.0.1:${holePort}`, live.address] },
      { path: '/alone', backends: [`127.0.0.1:${holePort}`] },
    ],
  });
  const started = Date.now();
  const { ws, backendId } = await openClient(`ws://${gw.host}/pair`);
  assert.equal(backendId, 'live');
  ws.close();
  await closed(ws);
  assert.ok(gw.logs.some((l) => l.msg === 'backend skipped' && String(l.detail).includes('connect timeout')), 'the skip is logged with its reason');

  const refusal = await expectRefusal(`ws://${gw.host}/alone`);
  const elapsed = Date.now() - started;
  assert.equal(refusal.status, 502);
  // Two connect timeouts of 300 ms (at most), not the kernel's two minutes.
  assert.ok(elapsed < 5000, `took ${elapsed} ms`);
  await gw.close();
});
