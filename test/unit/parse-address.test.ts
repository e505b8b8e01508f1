import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseBackendSpec, parseDuration, parseHostPort } from '../../src/config/parse-address.js';

describe('parseHostPort', () => {
  const good: ReadonlyArray<readonly [string, string, number]> = [
    ['localhost:8080', 'localhost', 8080],
    ['127.0.0.1:80', '127.0.0.1', 80],
    ['backend.internal:1', 'backend.internal', 1],
    ['h:65535', 'h', 65535],
    ['[::1]:9000', '::1', 9000],
    ['[::]:443', '::', 443],
    ['[2001:db8::42]:8443', '2001:db8::42', 8443],
    ['[::ffff:1.2.3.4]:80', '::ffff:1.2.3.4', 80],
    ['  h:81  ', 'h', 81],
    ['h:08080', 'h', 8080],
  ];
  for (const [text, host, port] of good) {
    test(`${JSON.stringify(text)} → ${host} ${port}`, () => {
      assert.deepEqual(parseHostPort(text), { ok: true, value: { host, port } });
    });
  }

  test('port 0 is refused unless allowed (listeners)', () => {
    assert.deepEqual(parseHostPort('h:0'), { ok: false, error: '"0" is not a valid port in "h:0"' });
    assert.deepEqual(parseHostPort('h:0', true), { ok: true, value: { host: 'h', port: 0 } });
    assert.deepEqual(parseHostPort('[::]:0', true), { ok: true, value: { host: '::', port: 0 } });
    assert.deepEqual(parseHostPort('h:00000', true), { ok: true, value: { host: 'h', port: 0 } });
  });

  test('65536 and above are not ports', () => {
    assert.deepEqual(parseHostPort('h:65536'), { ok: false, error: '"65536" is not a valid port in "h:65536"' });
    assert.equal(parseHostPort('h:99999', true).ok, false);
    assert.equal(parseHostPort('h:100000').ok, false);
  });

  const notHostPort = ['h:+1', 'h:-1', 'h:08a', 'h:1e3', 'h:0x50', 'h: 80', 'h:', 'h', ':80', '', '[::1]', '::1:80', '[::1]80', 'h:80:90', 'a[b]:80', 'http://h:80'];
  for (const text of notHostPort) {
    test(`${JSON.stringify(text)} is not HOST:PORT`, () => {
      assert.deepEqual(parseHostPort(text), {
        ok: false,
        error: `"${text}" is not HOST:PORT (IPv6 goes in brackets: [::1]:8080)`,
      });
    });
  }

  test('brackets must hold an IPv6 address', () => {
    assert.deepEqual(parseHostPort('[localhost]:80'), { ok: false, error: '"localhost" is not an IPv6 address' });
    assert.deepEqual(parseHostPort('[1.2.3.4]:80'), { ok: false, error: '"1.2.3.4" is not an IPv6 address' });
  });

  test('every port 1..65535 round-trips; 0 only when allowed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 65535 }), fc.boolean(), (port, allowZero) => {
        const parsed = parseHostPort(`example.test:${port}`, allowZero);
        if (port === 0 && !allowZero) assert.equal(parsed.ok, false);
        else assert.deepEqual(parsed, { ok: true, value: { host: 'example.test', port } });
      }),
    );
  });

  test('every port above 65535 is refused', () => {
    fc.assert(
      fc.property(fc.integer({ min: 65536, max: 10_000_000 }), (port) => {
        assert.equal(parseHostPort(`h:${port}`, true).ok, false);
      }),
    );
  });
});

describe('parseBackendSpec', () => {
  const good: ReadonlyArray<readonly [string, string, number, boolean]> = [
    // Bare host:port is plain TCP.
    ['10.0.0.5:9000', '10.0.0.5', 9000, false],
    ['[::1]:9000', '::1', 9000, false],
    // Schemes with an explicit port.
    ['ws://h:1', 'h', 1, false],
    ['http://h:8080', 'h', 8080, false],
    ['wss://h:8443', 'h', 8443, true],
    ['https://h:9443', 'h', 9443, true],
    // The scheme's own default port written out (URL drops it; the default must come back).
    ['ws://h:80', 'h', 80, false],
    ['http://h:80', 'h', 80, false],
    ['wss://h:443', 'h', 443, true],
    ['https://h:443', 'h', 443, true],
    // The other scheme's default port.
    ['ws://h:443', 'h', 443, false],
    ['https://h:80', 'h', 80, true],
    // No port: 80 for ws/http, 443 for wss/https.
    ['ws://h', 'h', 80, false],
    ['http://h', 'h', 80, false],
    ['wss://h', 'h', 443, true],
    ['https://h', 'h', 443, true],
    // A trailing "/" is not a path.
    ['ws://h:1/', 'h', 1, false],
    ['https://h/', 'h', 443, true],
    // Scheme and host case.
    ['WSS://Backend.Example:7000', 'backend.example', 7000, true],
    // IPv6 URL forms: brackets removed.
    ['ws://[::1]:9000', '::1', 9000, false],
    ['wss://[::1]', '::1', 443, true],
    ['http://[2001:db8::1]', '2001:db8::1', 80, false],
    ['https://[2001:DB8:0:0::1]:8443', '2001:db8::1', 8443, true],
    ['  ws://h:5  ', 'h', 5, false],
  ];
  for (const [text, host, port, tls] of good) {
    test(`${JSON.stringify(text)} → ${host} ${port} tls=${tls}`, () => {
      assert.deepEqual(parseBackendSpec(text), { ok: true, value: { host, port, tls } });
    });
  }

  test('a bare host:port follows parseHostPort (no port 0, no missing port)', () => {
    assert.deepEqual(parseBackendSpec('h:0'), { ok: false, error: '"0" is not a valid port in "h:0"' });
    assert.deepEqual(parseBackendSpec('h'), {
      ok: false,
      error: '"h" is not HOST:PORT (IPv6 goes in brackets: [::1]:8080)',
    });
  });

  for (const [text, scheme] of [
    ['ftp://h:21', 'ftp:'],
    ['tcp://h:1', 'tcp:'],
    ['file:///tmp/sock', 'file:'],
    ['unix://h', 'unix:'],
    ['h2c://h:1', 'h2c:'],
  ] as const) {
    test(`scheme ${scheme} is refused`, () => {
      assert.deepEqual(parseBackendSpec(text), {
        ok: false,
        error: `"${scheme}" in "${text}" is not a backend scheme (ws, wss, http, https)`,
      });
    });
  }

  for (const text of ['ws://h:1/path', 'http://h/chat', 'wss://h:1/a/', 'ws://h:1?x=1', 'ws://h:1/?x', 'ws://user@h:1', 'ws://u:p@h:1']) {
    test(`${JSON.stringify(text)} (path, query or userinfo) is refused`, () => {
      assert.deepEqual(parseBackendSpec(text), { ok: false, error: `backend "${text}" must be only scheme://host:port` });
    });
  }

  // Bug: only `url.username` is checked, so a password without a user passes
  // and is silently thrown away.
  test('userinfo with only a password is refused', () => {
    const text = 'ws://:secret@h:1';
    assert.deepEqual(parseBackendSpec(text), { ok: false, error: `backend "${text}" must be only scheme://host:port` });
  });

  // Bug: `url.hash` is not checked, so a fragment passes and is silently thrown away.
  test('a fragment is refused', () => {
    const text = 'ws://h:1#frag';
    assert.deepEqual(parseBackendSpec(text), { ok: false, error: `backend "${text}" must be only scheme://host:port` });
  });

  // Issue 13: "b.1@127.0.0.1:9001" was silently read as the host "b.1@127.0.0.1".
  for (const [text, id] of [['b.1@127.0.0.1:9001', 'b.1'], ['@h:1', ''], ['a b@h:1', 'a b'], [`${'x'.repeat(65)}@h:1`, 'x'.repeat(65)], ['id!@ws://h:1', 'id!']] as const) {
    test(`${JSON.stringify(text)}: an id outside [A-Za-z0-9_-] is named, not taken as part of the host`, () => {
      assert.deepEqual(parseBackendSpec(text), { ok: false, error: `"${id}" in "${text}" is not a backend id (letters, digits, "_" and "-", at most 64)` });
    });
  }

  test('an id before a URL is an id; an "@" inside the URL is its userinfo', () => {
    assert.deepEqual(parseBackendSpec('b-1@ws://h:1'), { ok: true, value: { host: 'h', port: 1, tls: false, id: 'b-1' } });
  });

  for (const text of ['ws://', 'ws://h:65536', 'ws://h:-1', 'ws://[::1:9000', 'not a url://x', 'ws://h:8a']) {
    test(`${JSON.stringify(text)} is not a valid URL`, () => {
      assert.deepEqual(parseBackendSpec(text), { ok: false, error: `"${text}" is not a valid backend URL` });
    });
  }
});

describe('parseDuration', () => {
  const good: ReadonlyArray<readonly [string, number]> = [
    ['500ms', 500],
    ['0ms', 0],
    ['5s', 5000],
    ['1.5s', 1500],
    ['0.25s', 250],
    ['2m', 120_000],
    ['1.5m', 90_000],
    ['1h', 3_600_000],
    ['0', 0],
    ['  5s  ', 5000],
    ['5 s', 5000],
    ['1.0004ms', 1],
    ['1.5ms', 2],
  ];
  for (const [text, ms] of good) {
    test(`${JSON.stringify(text)} → ${ms} ms`, () => {
      assert.deepEqual(parseDuration(text), { ok: true, value: ms });
    });
  }

  test('numbers are milliseconds as they are', () => {
    assert.deepEqual(parseDuration(0), { ok: true, value: 0 });
    assert.deepEqual(parseDuration(1500), { ok: true, value: 1500 });
    assert.deepEqual(parseDuration(2.5), { ok: true, value: 2.5 });
  });

  for (const value of [-1, -0.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
    test(`number ${value} is refused`, () => {
      assert.deepEqual(parseDuration(value), { ok: false, error: `${value} is not a duration` });
    });
  }

  for (const text of ['-5s', '-1', '', ' ', 'ms', 's', '5S', '5MS', '5 sec', '5d', '5w', '.5s', '1.s', '1e3', '1,5s', 'abc', '5s5', '5s 2m', '+5s', '0x10', 'Infinity', 'NaN']) {
    test(`${JSON.stringify(text)} is refused`, () => {
      assert.deepEqual(parseDuration(text), {
        ok: false,
        error: `"${text}" is not a duration (examples: 500ms, 5s, 2m, 1h)`,
      });
    });
  }

  // Issue 13: `--drain-timeout 30` was 30 milliseconds. Text needs its unit; only "0" goes without.
  for (const text of ['30', '250', '1.5', ' 10 ']) {
    test(`${JSON.stringify(text)} is refused: a duration in text needs its unit`, () => {
      const bare = text.trim();
      assert.deepEqual(parseDuration(text), { ok: false, error: `"${text}" needs a unit: ${bare}ms, ${bare}s, ${bare}m or ${bare}h` });
    });
  }

  test('every non-negative integer with each unit scales exactly', () => {
    const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
    fc.assert(
      fc.property(fc.nat({ max: 100_000 }), fc.constantFrom('ms', 's', 'm', 'h'), (n, unit) => {
        assert.deepEqual(parseDuration(`${n}${unit}`), { ok: true, value: n * factor[unit] });
      }),
    );
  });
});
