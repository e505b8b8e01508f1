import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { HealthCheckConfig } from '../../src/config/schema.js';
import {
  HealthChecker,
  initialHealth,
  isUp,
  nextHealth,
  verifyWebSocketResponse,
  websocketAccept,
  type CheckResult,
  type RiseFall,
} from '../../src/upstream/health-check.js';
import { parseResponseHead, type ResponseHead } from '../../src/http/response-head.js';

/** Runs a string of checks ("P" pass, "F" fail) from `start` and returns up/down after each ("U"/"D"). */
function run(thresholds: RiseFall, checks: string, start = initialHealth(thresholds)): string {
  let health = start;
  let states = '';
  for (const check of checks) {
    health = nextHealth(health, check === 'P', thresholds);
    states += isUp(health, thresholds) ? 'U' : 'D';
  }
  return states;
}

const HAPROXY_DEFAULTS = { rise: 2, fall: 3 };
const FULL = HAPROXY_DEFAULTS.rise + HAPROXY_DEFAULTS.fall - 1;

describe('rise/fall counting (HAProxy)', () => {
  test('a backend starts up, but goes down at its first failure', () => {
    assert.equal(isUp(initialHealth(HAPROXY_DEFAULTS), HAPROXY_DEFAULTS), true);
    assert.equal(run(HAPROXY_DEFAULTS, 'F'), 'D');
  });

  test('one pass at start makes it fully up: then it takes `fall` consecutive failures', () => {
    assert.equal(run(HAPROXY_DEFAULTS, 'PFFF'), 'UUUD');
  });

  test('a fully up backend goes down after exactly `fall` consecutive failures', () => {
    assert.equal(run(HAPROXY_DEFAULTS, 'FFF', FULL), 'UUD');
    assert.equal(run({ rise: 2, fall: 5 }, 'FFFFF', 6), 'UUUUD');
  });

  test('a pass between failures restores full health, so the failures must be consecutive', () => {
    assert.equal(run(HAPROXY_DEFAULTS, 'FFPFFPFF', FULL), 'UUUUUUUU');
  });

  test('a down backend needs `rise` consecutive passes, and a failure starts the count again', () => {
    assert.equal(run(HAPROXY_DEFAULTS, 'PP', 0), 'DU');
    assert.equal(run(HAPROXY_DEFAULTS, 'PFPFPP', 0), 'DDDDDU');
    assert.equal(run({ rise: 4, fall: 1 }, 'PPPFPPPP', 0), 'DDDDDDDU');
  });

  test('a backend that just came back is fully up (a single failure does not take it out)', () => {
    assert.equal(run(HAPROXY_DEFAULTS, 'PPF', 0), 'DUU');
    assert.equal(run(HAPROXY_DEFAULTS, 'PPFFF', 0), 'DUUUD');
  });

  test('rise 1 and fall 1 follow every check', () => {
    assert.equal(run({ rise: 1, fall: 1 }, 'FPFFPP'), 'DUDDUU');
  });

  test('the counter stays within 0..rise+fall-1', () => {
    let health = initialHealth(HAPROXY_DEFAULTS);
    for (let i = 0; i < 20; i++) health = nextHealth(health, true, HAPROXY_DEFAULTS);
    assert.equal(health, FULL);
    for (let i = 0; i < 20; i++) health = nextHealth(health, false, HAPROXY_DEFAULTS);
    assert.equal(health, 0);
  });
});

describe('HealthChecker.record', () => {
  const check: HealthCheckConfig = { type: 'tcp', interval: 1000, timeout: 1000, rise: 2, fall: 3 };
  const result = (ok: boolean): CheckResult => ({ ok, detail: ok ? 'connected' : 'ECONNREFUSED', at: new Date(0).toISOString(), durationMs: 1 });

  test('reports each change once, with the result that decided it, and keeps the last result', () => {
    const changes: Array<[boolean, string]> = [];
    const checker = new HealthChecker({ host: '127.0.0.1', port: 1, tls: false }, check, { rejectUnauthorized: true }, {
      changed: (up, r) => changes.push([up, r.detail]),
    });
    for (const ok of [true, false, false, false, false, true, true, true]) checker.record(result(ok));
    assert.deepEqual(changes, [
      [false, 'ECONNREFUSED'],
      [true, 'connected'],
    ]);
    assert.equal(checker.up, true);
    assert.equal(checker.lastResult?.detail, 'connected');
  });
});

describe('WebSocket handshake verification (RFC 6455 4.1)', () => {
  test('Sec-WebSocket-Accept of the RFC 6455 1.3 example', () => {
    assert.equal(websocketAccept('dGhlIHNhbXBsZSBub25jZQ=='), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });

  const key = 'dGhlIHNhbXBsZSBub25jZQ==';
  function head(lines: string[]): ResponseHead {
    const parsed = parseResponseHead(Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'));
    assert.equal(parsed.kind, 'done');
    return (parsed as { head: ResponseHead }).head;
  }
  const good = ['HTTP/1.1 101 Switching Protocols', 'Upgrade: WebSocket', 'Connection: keep-alive, Upgrade', 'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo='];

  test('a correct 101 passes (header names and tokens case-insensitive)', () => {
    assert.deepEqual(verifyWebSocketResponse(head(good), key), { ok: true, detail: 'HTTP 101' });
  });

  const cases: Array<[string, string[], string]> = [
    ['not 101', ['HTTP/1.1 200 OK', 'Content-Length: 0'], 'HTTP 200 instead of 101'],
    ['no Upgrade', good.filter((l) => !l.startsWith('Upgrade')), '101 without Upgrade: websocket'],
    ['no Connection token', good.map((l) => (l.startsWith('Connection') ? 'Connection: keep-alive' : l)), '101 without Connection: upgrade'],
    ['wrong accept', good.map((l) => (l.startsWith('Sec-WebSocket-Accept') ? 'Sec-WebSocket-Accept: AAAA' : l)), 'wrong Sec-WebSocket-Accept'],
    ['no accept', good.filter((l) => !l.startsWith('Sec-WebSocket-Accept')), 'wrong Sec-WebSocket-Accept'],
    ['unrequested extension', [...good, 'Sec-WebSocket-Extensions: permessage-deflate'], 'unrequested extension'],
    ['unrequested subprotocol', [...good, 'Sec-WebSocket-Protocol: chat'], 'unrequested subprotocol'],
  ];
  for (const [name, lines, detail] of cases) {
    test(`fails: ${name}`, () => {
      assert.deepEqual(verifyWebSocketResponse(head(lines), key), { ok: false, detail });
    });
  }
});
