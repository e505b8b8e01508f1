import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import fc from 'fast-check';
import {
  isWebSocketRequest,
  validateHandshake,
  type HandshakeRequest,
} from '../../src/handshake/validate-handshake.js';
import type { FailureCode } from '../../src/errors.js';

// The sample key of RFC 6455 section 1.3.
const SAMPLE_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

function validHeaders(): IncomingHttpHeaders {
  return {
    host: 'server.example.com',
    upgrade: 'websocket',
    connection: 'Upgrade',
    'sec-websocket-key': SAMPLE_KEY,
    'sec-websocket-version': '13',
    origin: 'http://example.com',
  };
}

function request(overrides: Partial<HandshakeRequest> = {}, headerOverrides: IncomingHttpHeaders = {}): HandshakeRequest {
  const headers: IncomingHttpHeaders = { ...validHeaders(), ...headerOverrides };
  // An override of `undefined` means "header absent".
  for (const [name, value] of Object.entries(headerOverrides)) {
    if (value === undefined) delete headers[name];
  }
  return { method: 'GET', httpVersionMajor: 1, httpVersionMinor: 1, headers, ...overrides };
}

function rejectedWith(req: HandshakeRequest): FailureCode | 'ok' {
  const verdict = validateHandshake(req);
  return verdict.ok ? 'ok' : verdict.code;
}

describe('validateHandshake: a valid request', () => {
  test('the RFC 6455 1.3 sample handshake is accepted', () => {
    assert.deepEqual(validateHandshake(request()), { ok: true });
  });

  test('HTTP/2.0 as the request version is accepted ("1.1 or higher")', () => {
    assert.deepEqual(validateHandshake(request({ httpVersionMajor: 2, httpVersionMinor: 0 })), { ok: true });
  });

  test('other headers (subprotocols, extensions) do not matter', () => {
    const req = request(
      {},
      { 'sec-websocket-protocol': 'chat, superchat', 'sec-websocket-extensions': 'permessage-deflate' },
    );
    assert.deepEqual(validateHandshake(req), { ok: true });
  });

  test('every key of 16 random bytes in base64 is accepted', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        const key = Buffer.from(bytes).toString('base64');
        assert.deepEqual(validateHandshake(request({}, { 'sec-websocket-key': key })), { ok: true });
      }),
    );
  });
});

describe('validateHandshake: method (rule 1)', () => {
  for (const method of ['POST', 'HEAD', 'PUT', 'OPTIONS', 'CONNECT', 'get', '']) {
    test(`method ${JSON.stringify(method)} → ERR_HANDSHAKE_METHOD`, () => {
      assert.equal(rejectedWith(request({ method })), 'ERR_HANDSHAKE_METHOD');
    });
  }
  test('missing method → ERR_HANDSHAKE_METHOD', () => {
    assert.equal(rejectedWith(request({ method: undefined })), 'ERR_HANDSHAKE_METHOD');
  });
});

describe('validateHandshake: HTTP version (rule 1)', () => {
  for (const [major, minor] of [
    [1, 0],
    [0, 9],
    [0, 0],
  ] as const) {
    test(`HTTP/${major}.${minor} → ERR_HANDSHAKE_HTTP_VERSION`, () => {
      assert.equal(
        rejectedWith(request({ httpVersionMajor: major, httpVersionMinor: minor })),
        'ERR_HANDSHAKE_HTTP_VERSION',
      );
    });
  }
  test('HTTP/1.1 and HTTP/1.2 pass the version rule', () => {
    assert.equal(rejectedWith(request({ httpVersionMajor: 1, httpVersionMinor: 1 })), 'ok');
    assert.equal(rejectedWith(request({ httpVersionMajor: 1, httpVersionMinor: 2 })), 'ok');
  });
});

describe('validateHandshake: Upgrade header (rule 3)', () => {
  for (const upgrade of ['websocket', 'WebSocket', 'WEBSOCKET', 'h2c, websocket', 'websocket, h2c', ' websocket ', 'foo,WebSocket']) {
    test(`Upgrade ${JSON.stringify(upgrade)} is accepted`, () => {
      assert.equal(rejectedWith(request({}, { upgrade })), 'ok');
    });
  }
  for (const upgrade of ['', 'h2c', 'websocket2', 'web socket', 'websocket/13', '"websocket"', 'websocket;q=1']) {
    test(`Upgrade ${JSON.stringify(upgrade)} → ERR_HANDSHAKE_UPGRADE`, () => {
      assert.equal(rejectedWith(request({}, { upgrade })), 'ERR_HANDSHAKE_UPGRADE');
    });
  }
  test('missing Upgrade → ERR_HANDSHAKE_UPGRADE', () => {
    assert.equal(rejectedWith(request({}, { upgrade: undefined })), 'ERR_HANDSHAKE_UPGRADE');
  });
});

describe('validateHandshake: Connection header (rule 4)', () => {
  for (const connection of ['Upgrade', 'upgrade', 'UPGRADE', 'keep-alive, Upgrade', 'Upgrade, keep-alive', 'keep-alive,upgrade', '  Upgrade  ']) {
    test(`Connection ${JSON.stringify(connection)} is accepted`, () => {
      assert.equal(rejectedWith(request({}, { connection })), 'ok');
    });
  }
  for (const connection of ['', 'keep-alive', 'close', 'upgraded', 'Upgrade-Insecure', 'keep-alive; Upgrade']) {
    test(`Connection ${JSON.stringify(connection)} → ERR_HANDSHAKE_CONNECTION`, () => {
      assert.equal(rejectedWith(request({}, { connection })), 'ERR_HANDSHAKE_CONNECTION');
    });
  }
  test('missing Connection → ERR_HANDSHAKE_CONNECTION', () => {
    assert.equal(rejectedWith(request({}, { connection: undefined })), 'ERR_HANDSHAKE_CONNECTION');
  });
});

describe('validateHandshake: Sec-WebSocket-Key (rule 5)', () => {
  const bad: ReadonlyArray<readonly [string, string]> = [
    ['empty', ''],
    ['21 characters before "=="', 'dGhlIHNhbXBsZSBub25jZ=='],
    ['23 characters before "=="', 'dGhlIHNhbXBsZSBub25jZQQ=='],
    ['15 bytes in base64 (20 chars, no padding)', Buffer.alloc(15, 7).toString('base64')],
    ['17 bytes in base64', Buffer.alloc(17, 7).toString('base64')],
    ['32 bytes in base64', Buffer.alloc(32, 7).toString('base64')],
    ['no padding', 'dGhlIHNhbXBsZSBub25jZQ'],
    ['single "="', 'dGhlIHNhbXBsZSBub25jZQ='],
    ['not base64 ("!")', 'dGhlIHNhbXBsZSBub25jZ!=='],
    ['base64url alphabet ("-" and "_")', 'dGhlIHNhbXBsZSBub25j-_=='],
    ['inner space', 'dGhlIHNhbXBs ZSBub25jZQ=='],
    ['duplicated header joined by Node', `${SAMPLE_KEY}, ${SAMPLE_KEY}`],
    ['two different keys joined', `${SAMPLE_KEY}, AAAAAAAAAAAAAAAAAAAAAA==`],
    ['trailing newline', `${SAMPLE_KEY}\n`],
  ];
  for (const [label, key] of bad) {
    test(`key ${label} → ERR_HANDSHAKE_KEY`, () => {
      assert.equal(rejectedWith(request({}, { 'sec-websocket-key': key })), 'ERR_HANDSHAKE_KEY');
    });
  }
  test('missing key → ERR_HANDSHAKE_KEY', () => {
    assert.equal(rejectedWith(request({}, { 'sec-websocket-key': undefined })), 'ERR_HANDSHAKE_KEY');
  });
  test('keys with "+" and "/" are accepted', () => {
    assert.equal(rejectedWith(request({}, { 'sec-websocket-key': '+/+/+/+/+/+/+/+/+/+/+w==' })), 'ok');
  });
});

describe('validateHandshake: Sec-WebSocket-Version (rule 6)', () => {
  test('missing version → ERR_HANDSHAKE_WS_VERSION_MISSING', () => {
    assert.equal(rejectedWith(request({}, { 'sec-websocket-version': undefined })), 'ERR_HANDSHAKE_WS_VERSION_MISSING');
  });
  for (const version of ['8', '7', '12', '14', '13, 13', '13, 8', '8, 13', '', '013', '13.0', 'thirteen']) {
    test(`version ${JSON.stringify(version)} → ERR_HANDSHAKE_WS_VERSION`, () => {
      assert.equal(rejectedWith(request({}, { 'sec-websocket-version': version })), 'ERR_HANDSHAKE_WS_VERSION');
    });
  }
});

describe('validateHandshake: rules are checked in RFC 6455 4.2.1 order', () => {
  // Start with every field wrong, then fix one field at a time; each step must
  // report the next rule in order.
  const allWrong = (): HandshakeRequest => ({
    method: 'POST',
    httpVersionMajor: 1,
    httpVersionMinor: 0,
    headers: { upgrade: 'h2c', connection: 'close', 'sec-websocket-key': 'short' },
  });

  test('each fix reveals the next rule', () => {
    const steps: Array<{ fix: (r: { -readonly [K in keyof HandshakeRequest]: HandshakeRequest[K] }) => void; next: FailureCode | 'ok' }> = [
      { fix: () => undefined, next: 'ERR_HANDSHAKE_METHOD' },
      { fix: (r) => void (r.method = 'GET'), next: 'ERR_HANDSHAKE_HTTP_VERSION' },
      { fix: (r) => void (r.httpVersionMinor = 1), next: 'ERR_HANDSHAKE_UPGRADE' },
      { fix: (r) => void (r.headers.upgrade = 'websocket'), next: 'ERR_HANDSHAKE_CONNECTION' },
      { fix: (r) => void (r.headers.connection = 'Upgrade'), next: 'ERR_HANDSHAKE_KEY' },
      { fix: (r) => void (r.headers['sec-websocket-key'] = SAMPLE_KEY), next: 'ERR_HANDSHAKE_WS_VERSION_MISSING' },
      { fix: (r) => void (r.headers['sec-websocket-version'] = '8'), next: 'ERR_HANDSHAKE_WS_VERSION' },
      { fix: (r) => void (r.headers['sec-websocket-version'] = '13'), next: 'ok' },
    ];
    const req = { ...allWrong(), headers: { ...allWrong().headers } };
    const seen: Array<FailureCode | 'ok'> = [];
    for (const step of steps) {
      step.fix(req);
      seen.push(rejectedWith(req));
    }
    assert.deepEqual(
      seen,
      steps.map((s) => s.next),
    );
  });

  test('a bad key is reported before a bad version', () => {
    assert.equal(
      rejectedWith(request({}, { 'sec-websocket-key': 'x', 'sec-websocket-version': '8' })),
      'ERR_HANDSHAKE_KEY',
    );
  });

  test('a missing Connection is reported before a missing key and version', () => {
    assert.equal(
      rejectedWith(request({}, { connection: undefined, 'sec-websocket-key': undefined, 'sec-websocket-version': undefined })),
      'ERR_HANDSHAKE_CONNECTION',
    );
  });

  test('a wrong method is reported even when every header is absent', () => {
    assert.equal(
      rejectedWith({ method: 'DELETE', httpVersionMajor: 1, httpVersionMinor: 0, headers: {} }),
      'ERR_HANDSHAKE_METHOD',
    );
  });
});

describe('isWebSocketRequest', () => {
  test('true for an Upgrade holding "websocket", in any case, alone or in a list', () => {
    assert.equal(isWebSocketRequest({ upgrade: 'websocket' }), true);
    assert.equal(isWebSocketRequest({ upgrade: 'WebSocket' }), true);
    assert.equal(isWebSocketRequest({ upgrade: 'h2c, websocket' }), true);
  });
  test('true even when the rest of the handshake is missing (Connection not required)', () => {
    assert.equal(isWebSocketRequest({ upgrade: 'websocket', connection: 'close' }), true);
  });
  test('false without Upgrade or with another protocol', () => {
    assert.equal(isWebSocketRequest({}), false);
    assert.equal(isWebSocketRequest({ connection: 'Upgrade' }), false);
    assert.equal(isWebSocketRequest({ upgrade: 'h2c' }), false);
    assert.equal(isWebSocketRequest({ upgrade: 'websockets' }), false);
  });
});
