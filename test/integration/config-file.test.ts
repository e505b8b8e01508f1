/**
 * Issue 4: `--config FILE` and `wsgate check`. Invalid files name the file,
 * the line, the path inside it and what was expected, and wsgate exits 2
 * without starting; flags override the file; `check` prints the route table.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startEchoBackend, type EchoBackend } from '../../fixtures/echo-backend.js';
import { runCli } from '../helpers/cli.js';
import { rawGet } from '../helpers/raw-http.js';
import { tempDir } from '../helpers/temp-dir.js';

const EXAMPLE = fileURLToPath(new URL('../../../fixtures/wsgate.example.yaml', import.meta.url));

function tempFile(name: string, text: string): string {
  const file = join(tempDir('wsgate-file-'), name);
  writeFileSync(file, text);
  return file;
}

describe('the config file', () => {
  let backends: EchoBackend[];

  before(async () => {
    backends = await Promise.all([startEchoBackend({ id: 'one' }), startEchoBackend({ id: 'two' })]);
  });
  after(async () => Promise.all(backends.map((backend) => backend.close())));

  test('invalid files: a clear message naming file, line, field and expectation; exit 2; nothing listens', async () => {
    const cases: Array<[string, string, RegExp]> = [
      ['bad-port.yaml', 'routes:\n  - path: /a\n    backends: ["127.0.0.1:99999"]\n', /bad-port\.yaml:3:16: routes\.0\.backends\.0: "99999" is not a valid port/],
      ['typo.yaml', 'routes:\n  - path: /a\n    backends: [h:1]\n    stickyCokie: S\n', /typo\.yaml:4:18: routes\.0\.stickyCokie: unknown key/],
      ['balance.json', '{"routes": [{"path": "/a", "backends": ["h:1"], "balance": "fastest"}]}', /balance\.json:1:60: routes\.0\.balance: expected one of round-robin, least-conn, random, hash/],
      ['regex.yaml', 'routes:\n  - path: { regex: "(" }\n    backends: [h:1]\n', /regex\.yaml:2:20: routes\.0\.path\.regex: Invalid regular expression/],
      ['two-defaults.yaml', 'routes:\n  - { default: true, backends: [h:1] }\n  - { default: true, backends: [h:2] }\n', /two-defaults\.yaml:3:16: routes\.1\.default: only one route may be the default/],
      ['syntax.yaml', 'routes:\n  - path: /a\n   backends: [h:1\n', /syntax\.yaml:\d+:\d+: not valid YAML or JSON/],
      ['empty.yaml', '\n', /empty\.yaml: the config file is empty/],
      ['no-routes.yaml', 'listen: 127.0.0.1:0\n', /no-routes\.yaml:1:1: routes: required/],
    ];
    for (const [name, text, message] of cases) {
      const file = tempFile(name, text);
      for (const args of [['--config', file], ['check', '--config', file]]) {
        const cli = runCli(args);
        assert.equal(await cli.exited, 2, `${args.join(' ')}: ${cli.stderr}`);
        assert.match(cli.stderr, message, name);
        assert.match(cli.stderr, /^wsgate: invalid configuration:\n/);
        assert.ok(!cli.stdout.includes('"listening"'), 'did not start');
      }
    }
    const missing = runCli(['--config', '/nonexistent/wsgate.yaml']);
    assert.equal(await missing.exited, 2);
    assert.match(missing.stderr, /\/nonexistent\/wsgate\.yaml: cannot read the config file/);
  });

  test('serves from the file; flags override it (listen, log level, --route replaces the routes)', async () => {
    const [one, two] = backends.map((backend) => backend.address);
    const file = tempFile(
      'wsgate.yaml',
      `listen: 127.0.0.1:1\nlogLevel: warn\ndefaults: { stickyCookie: WSGATE }\nroutes:\n  - path: /a\n    backends: ["one@${one}"]\n`,
    );
    const fromFile = runCli(['--config', file, '--listen', '127.0.0.1:0', '--log-level', 'info']);
    try {
      const [, port] = await fromFile.waitFor(/"port":(\d+)/);
      const response = await rawGet(Number(port), '/a/x');
      assert.equal(response.headers['x-backend-id'], 'one');
      assert.match(response.headers['set-cookie'] ?? '', /^WSGATE=one;/);
      assert.equal((await rawGet(Number(port), '/b')).status, 404);
    } finally {
      fromFile.child.kill('SIGTERM');
      await fromFile.exited;
    }
    const replaced = runCli(['--config', file, '--listen', '127.0.0.1:0', '--log-level', 'info', '--route', `/b=${two}`, '--sticky-cookie', 'OTHER']);
    try {
      const [, port] = await replaced.waitFor(/"port":(\d+)/);
      assert.equal((await rawGet(Number(port), '/a')).status, 404);
      const response = await rawGet(Number(port), '/b');
      assert.equal(response.headers['x-backend-id'], 'two');
      assert.match(response.headers['set-cookie'] ?? '', /^OTHER=b[0-9a-f]{10};/);
    } finally {
      replaced.child.kill('SIGTERM');
      await replaced.exited;
    }
  });

  test('`wsgate check` validates the annotated example and prints the route table in the order tried', async () => {
    const cli = runCli(['check', '--config', EXAMPLE]);
    assert.equal(await cli.exited, 0, cli.stderr);
    assert.match(cli.stdout, /wsgate\.example\.yaml: configuration is valid/);
    assert.match(cli.stdout, /routes, in the order they are tried/);
    assert.match(cli.stdout, /1\. acme-chat {2}\[host:\*\.example\.com cookie:tenant=acme \/chat\]/);
    assert.match(cli.stdout, /fallback {2}\[\/\] {2}\(routes\.\d+, default\)/);
    assert.match(cli.stdout, /backends {2}b1=10\.0\.0\.11:3000, b2=10\.0\.0\.12:3000/);
  });

  test('`wsgate check` with flags only, and --help documents the syntax with examples', async () => {
    const check = runCli(['check', '--route', 'cookie:tenant=acme /chat=127.0.0.1:9001', '--route', '/=127.0.0.1:9002', '--balance', 'least-conn']);
    assert.equal(await check.exited, 0, check.stderr);
    assert.match(check.stdout, /1\. cookie:tenant=acme \/chat {2}\(routes\.0\)[\s\S]*balance {3}least-conn[\s\S]*2\. \/ {2}\(routes\.1\)/);
    const help = runCli(['--help']);
    assert.equal(await help.exited, 0);
    for (const text of ['--config', '--balance', '--hash-on', '--sticky-cookie', '--session-affinity', "cookie:tenant=acme /chat=127.0.0.1:9001", 'wsgate check --config']) {
      assert.ok(help.stdout.includes(text), `--help mentions ${text}`);
    }
  });
});
