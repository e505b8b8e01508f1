import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { runCli } from '../helpers/cli.js';

// From dist*/test/integration/ to the repository root.
const PACKAGE_JSON = new URL('../../../package.json', import.meta.url);

function isJson(line: string): boolean {
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
}

describe('log format and --version', () => {
  test('--log-format pretty writes readable lines, not JSON, and still exits 0 on SIGTERM', async () => {
    // A route to nowhere: port 1 on loopback refuses, and nothing connects to it here.
    const cli = runCli(['--log-format', 'pretty', '--listen', '127.0.0.1:0', '--route', '/=127.0.0.1:1']);
    await cli.waitFor(/listening/);
    cli.child.kill('SIGTERM');
    assert.equal(await cli.exited, 0);
    const lines = cli.stdout.split('\n').filter((line) => line.trim() !== '');
    assert.ok(lines.length > 0);
    assert.ok(lines.every((line) => !isJson(line)), `no line is JSON:\n${cli.stdout}`);
    const listening = lines.find((line) => line.includes('listening'));
    assert.match(listening ?? '', /INFO.*listening/);
    // Not a terminal: no colour codes.
    assert.ok(!cli.stdout.includes('\u001b['), cli.stdout);
    // The lines written at exit are there too (written synchronously, nothing left buffered).
    assert.match(cli.stdout, /drained/);
  });

  test('--log-format json (the default) still writes JSON lines', async () => {
    const cli = runCli(['--log-format', 'json', '--listen', '127.0.0.1:0', '--route', '/=127.0.0.1:1']);
    await cli.waitFor(/"msg":"listening"/);
    cli.child.kill('SIGTERM');
    assert.equal(await cli.exited, 0);
    const lines = cli.stdout.trim().split('\n');
    assert.ok(lines.every(isJson), cli.stdout);
  });

  for (const flag of ['--version', '-V']) {
    test(`${flag} prints the version from package.json and exits 0`, async () => {
      const { version } = JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { version: string };
      const cli = runCli([flag]);
      assert.equal(await cli.exited, 0);
      assert.equal(cli.stdout, `${version}\n`);
      assert.equal(cli.stderr, '');
    });
  }

  test('--log-format xml exits 2 naming the allowed formats', async () => {
    const cli = runCli(['--log-format', 'xml', '--route', '/=127.0.0.1:1']);
    assert.equal(await cli.exited, 2);
    assert.match(cli.stderr, /--log-format/);
    assert.match(cli.stderr, /'xml' is invalid/);
    assert.match(cli.stderr, /json, pretty/);
    assert.equal(cli.stdout, '');
  });
});
