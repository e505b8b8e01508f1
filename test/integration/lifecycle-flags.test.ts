import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';

// Issues 5 and 6: the keep-alive, idle, health and drain flags are documented
// in --help and checked like every other flag (exit 2 naming the problem).

test('--help documents the keep-alive, idle, health and drain flags', async () => {
  const cli = runCli(['--help']);
  assert.equal(await cli.exited, 0);
  for (const flag of ['--ping-interval', '--idle-timeout', '--tcp-keepalive', '--health-path', '--drain-timeout', '--close-spread']) {
    assert.ok(cli.stdout.includes(flag), `--help mentions ${flag}`);
  }
});

test('bad keep-alive, idle, health and drain values exit 2 with a message naming the problem', async () => {
  const route = ['--route', '/=127.0.0.1:1'];
  const cases: Array<[string[], RegExp]> = [
    [['--ping-interval', 'often'], /tunnels\.pingInterval: "often" is not a duration/],
    [['--ping-interval', '10ms'], /tunnels\.pingInterval: expected 0 \(off\) or a duration from 100 ms/],
    [['--idle-timeout', '1s', '--ping-interval', '2s'], /tunnels\.idleTimeout: idleTimeout must be longer than pingInterval/],
    [['--tcp-keepalive', '100ms'], /tunnels\.tcpKeepAlive: expected 0 \(off\) or a duration from 1000 ms/],
    [['--health-path', 'healthz'], /healthPath: a health path is "\/" followed by/],
    [['--drain-timeout', 'later'], /drain\.timeout: "later" is not a duration/],
    [['--close-spread', '-1s'], /drain\.closeSpread: "-1s" is not a duration/],
  ];
  for (const [args, message] of cases) {
    const cli = runCli([...route, ...args]);
    assert.equal(await cli.exited, 2, args.join(' '));
    assert.match(cli.stderr, message, args.join(' '));
  }
});
