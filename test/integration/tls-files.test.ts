/**
 * Issue 13: certificate, key and CA files that are missing, unreadable, not
 * PEM, or a key that is not the certificate's: exit 2 naming the file and the
 * problem, from `wsgate` and from `wsgate check` alike, never a stack trace.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp-dir.js';

const CERTS = fileURLToPath(new URL('../../../fixtures/certs/', import.meta.url));

async function exitOf(args: string[]): Promise<{ code: number | string; stderr: string; stdout: string }> {
  const cli = runCli(args);
  const code = await cli.exited;
  return { code, stderr: cli.stderr, stdout: cli.stdout };
}

test('bad TLS files: exit 2 naming the file and the problem, for the gateway and for check', { timeout: 30_000 }, async () => {
  const dir = tempDir('wsgate-tls-');
  const notPem = join(dir, 'not.pem');
  writeFileSync(notPem, 'just text\n');
  const cases: ReadonlyArray<readonly [string[], RegExp]> = [
    [['--tls-cert', join(dir, 'missing.pem'), '--tls-key', join(CERTS, 'server.key')], /tls\.cert: cannot read ".*missing\.pem": no such file/],
    [['--tls-cert', notPem, '--tls-key', join(CERTS, 'server.key')], /tls\.cert: ".*not\.pem" is not PEM/],
    [['--tls-cert', join(CERTS, 'server.pem'), '--tls-key', join(CERTS, 'server2.key')], /tls\.key: ".*server2\.key" is not the key of the certificate ".*server\.pem"/],
    [['--tls-cert', join(CERTS, 'server.pem'), '--tls-key', dir], /tls\.key: cannot read ".*": a directory, not a file/],
    [['--backend-ca', join(dir, 'nope.pem')], /backendTls\.ca: cannot read ".*nope\.pem": no such file/],
  ];
  for (const [flags, problem] of cases) {
    for (const command of [[], ['check']]) {
      const { code, stderr, stdout } = await exitOf([...command, '--listen', '127.0.0.1:0', '--route', '/=127.0.0.1:9', ...flags]);
      assert.equal(code, 2, `${command.join(' ')} ${flags.join(' ')}: ${stderr}`);
      assert.match(stderr, problem);
      assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
      assert.doesNotMatch(stdout, /configuration is valid/);
    }
  }
  // Good files pass check.
  const good = await exitOf(['check', '--route', '/=127.0.0.1:9', '--tls-cert', join(CERTS, 'server.pem'), '--tls-key', join(CERTS, 'server.key'), '--backend-ca', join(CERTS, 'ca.pem')]);
  assert.equal(good.code, 0, good.stderr);
});

test('wsgate check takes every flag wsgate takes', async () => {
  const { code, stderr } = await exitOf(['check', '--route', '/=127.0.0.1:9', '--workers', '2', '--ping-interval', '25s', '--idle-timeout', '60s', '--log-format', 'pretty', '--drain-timeout', '5s', '--max-connections', '100']);
  assert.equal(code, 0, stderr);
});
