import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startEchoBackend, type EchoBackend } from '../../fixtures/echo-backend.js';
import { closed, openClient } from '../helpers/clients.js';
import { runCli } from '../helpers/cli.js';

let backends: EchoBackend[];

before(async () => {
  backends = await Promise.all([startEchoBackend({ id: 'a' }), startEchoBackend({ id: 'b' })]);
});
after(async () => Promise.all(backends.map((b) => b.close())));

interface LogLine {
  msg: string;
  pid: number;
  port?: number;
}

function logLines(text: string): LogLine[] {
  return text
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
}

async function untilLines(read: () => string, predicate: (lines: LogLine[]) => boolean, timeoutMs = 10_000): Promise<LogLine[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lines = logLines(read());
    if (predicate(lines)) return lines;
    if (Date.now() > deadline) throw new Error(`timed out; log:\n${read()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('--workers 2 serves from two processes, replaces a dead worker, and stops cleanly on SIGTERM', { timeout: 60_000 }, async () => {
  const cli = runCli(['--listen', '127.0.0.1:0', '--workers', '2', '--route', `/=${backends.map((b) => b.address).join(',')}`]);
  const started = await untilLines(() => cli.stdout, (lines) => lines.filter((l) => l.msg === 'listening').length === 2);
  const listening = started.filter((l) => l.msg === 'listening');
  const port = listening[0]?.port;
  assert.equal(listening[1]?.port, port, 'both workers share one port');
  const workerPids = new Set(listening.map((l) => l.pid));
  assert.equal(workerPids.size, 2);

  // Connections spread over both workers (the kernel chooses; 60 connections make one-sided odds negligible).
  for (let i = 0; i < 60; i++) {
    const { ws } = await openClient(`ws://127.0.0.1:${port}/w/${i}`);
    ws.close();
    await closed(ws);
  }
  const served = await untilLines(() => cli.stdout, (lines) => lines.filter((l) => l.msg === 'tunnel closed').length === 60);
  const servingPids = new Set(served.filter((l) => l.msg === 'tunnel closed').map((l) => l.pid));
  assert.deepEqual([...servingPids].sort(), [...workerPids].sort());

  // A worker that dies is logged and replaced; the gateway keeps serving meanwhile.
  const victim = [...workerPids][0] as number;
  process.kill(victim, 'SIGKILL');
  const replaced = await untilLines(() => cli.stdout, (lines) => lines.filter((l) => l.msg === 'listening').length === 3);
  assert.ok(replaced.some((l) => l.msg === 'worker died; starting a replacement'));
  const { ws } = await openClient(`ws://127.0.0.1:${port}/after`);
  ws.close();
  await closed(ws);

  cli.child.kill('SIGTERM');
  assert.equal(await cli.exited, 0);
  const pids = new Set(logLines(cli.stdout).map((l) => l.pid));
  for (const pid of pids) {
    assert.throws(() => process.kill(pid, 0), /ESRCH/, `process ${pid} is gone`);
  }
});
