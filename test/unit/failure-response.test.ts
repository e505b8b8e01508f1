import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { buildRejection, rejectionHeaders } from '../../src/http/failure-response.js';
import { FAILURES, type FailureCode } from '../../src/errors.js';

const ALL_CODES = Object.keys(FAILURES) as FailureCode[];

/** Splits a rejection into status line, [name, value] headers and body, strictly on CRLF. */
function split(response: string): { statusLine: string; headers: Array<[string, string]>; body: string } {
  const end = response.indexOf('\r\n\r\n');
  assert.ok(end > 0, 'the head ends with an empty line');
  const [statusLine, ...lines] = response.slice(0, end).split('\r\n');
  const headers = lines.map((line): [string, string] => {
    const colon = line.indexOf(': ');
    assert.ok(colon > 0, `header line ${JSON.stringify(line)} has "name: value" form`);
    return [line.slice(0, colon), line.slice(colon + 2)];
  });
  return { statusLine: statusLine ?? '', headers, body: response.slice(end + 4) };
}

describe('buildRejection', () => {
  test('ERR_HANDSHAKE_METHOD: the exact bytes', () => {
    const body = 'Invalid HTTP method: a WebSocket handshake must be a GET (RFC 6455 4.2.1)\n';
    assert.equal(
      buildRejection('ERR_HANDSHAKE_METHOD'),
      'HTTP/1.1 400 Bad Request\r\n' +
        'Connection: close\r\n' +
        'Content-Type: text/plain; charset=utf-8\r\n' +
        `Content-Length: ${body.length}\r\n` +
        'X-Wsgate-Error: ERR_HANDSHAKE_METHOD\r\n' +
        '\r\n' +
        body,
    );
    assert.equal(body.length, 74);
  });

  const expectedStatusLines: Record<FailureCode, string> = {
    ERR_HANDSHAKE_METHOD: 'HTTP/1.1 400 Bad Request',
    ERR_HANDSHAKE_HTTP_VERSION: 'HTTP/1.1 400 Bad Request',
    ERR_HANDSHAKE_UPGRADE: 'HTTP/1.1 400 Bad Request',
    ERR_HANDSHAKE_CONNECTION: 'HTTP/1.1 400 Bad Request',
    ERR_HANDSHAKE_KEY: 'HTTP/1.1 400 Bad Request',
    ERR_HANDSHAKE_WS_VERSION_MISSING: 'HTTP/1.1 400 Bad Request',
    ERR_HANDSHAKE_WS_VERSION: 'HTTP/1.1 426 Upgrade Required',
    ERR_ROUTE_NOT_FOUND: 'HTTP/1.1 404 Not Found',
    ERR_ROUTE_BAD_PATH: 'HTTP/1.1 400 Bad Request',
    ERR_ROUTE_FORBIDDEN: 'HTTP/1.1 403 Forbidden',
    ERR_LIMIT_ROUTE: 'HTTP/1.1 503 Service Unavailable',
    ERR_LIMIT_CLIENT: 'HTTP/1.1 503 Service Unavailable',
    ERR_UPSTREAM_UNAVAILABLE: 'HTTP/1.1 502 Bad Gateway',
    ERR_UPSTREAM_NO_HEALTHY: 'HTTP/1.1 503 Service Unavailable',
    ERR_UPSTREAM_BAD_RESPONSE: 'HTTP/1.1 502 Bad Gateway',
    ERR_UPSTREAM_TIMEOUT: 'HTTP/1.1 504 Gateway Timeout',
    ERR_GATEWAY_DRAINING: 'HTTP/1.1 503 Service Unavailable',
    ERR_GATEWAY_RESOURCES: 'HTTP/1.1 503 Service Unavailable',
  };

  for (const code of ALL_CODES) {
    test(`${code}: status line, headers, Content-Length = body bytes, body = message`, () => {
      const { statusLine, headers, body } = split(buildRejection(code));
      assert.equal(statusLine, expectedStatusLines[code]);
      assert.deepEqual(headers, [
        ['Connection', 'close'],
        ['Content-Type', 'text/plain; charset=utf-8'],
        ['Content-Length', String(Buffer.byteLength(body))],
        ['X-Wsgate-Error', code],
      ]);
      assert.equal(body, `${FAILURES[code].message}\n`);
    });
  }

  test('Content-Length counts bytes, not characters', () => {
    // All current messages are ASCII; check the count is in bytes anyway by
    // comparing against the UTF-8 length of each body.
    for (const code of ALL_CODES) {
      const response = buildRejection(code);
      const { headers, body } = split(response);
      const length = headers.find(([name]) => name === 'Content-Length')?.[1];
      assert.equal(length, String(Buffer.from(body, 'utf8').length), code);
    }
  });

  test('extra headers go after the fixed ones, before the empty line, in order', () => {
    const response = buildRejection('ERR_ROUTE_NOT_FOUND', { 'X-One': '1', 'X-Two': 'two' });
    const { headers, body } = split(response);
    assert.deepEqual(headers.slice(4), [
      ['X-One', '1'],
      ['X-Two', 'two'],
    ]);
    assert.equal(body, 'No route matches this request\n');
  });

  test('426 with rejectionHeaders carries Sec-WebSocket-Version: 13', () => {
    const response = buildRejection('ERR_HANDSHAKE_WS_VERSION', rejectionHeaders('ERR_HANDSHAKE_WS_VERSION'));
    const body = 'Unsupported Sec-WebSocket-Version: only 13 is supported\n';
    assert.equal(
      response,
      'HTTP/1.1 426 Upgrade Required\r\n' +
        'Connection: close\r\n' +
        'Content-Type: text/plain; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'X-Wsgate-Error: ERR_HANDSHAKE_WS_VERSION\r\n' +
        'Sec-WebSocket-Version: 13\r\n' +
        '\r\n' +
        body,
    );
  });
});

describe('rejectionHeaders', () => {
  test('426 names the version, every 503 carries Retry-After, nothing else adds headers', () => {
    for (const code of ALL_CODES) {
      const expected =
        code === 'ERR_HANDSHAKE_WS_VERSION' ? { 'Sec-WebSocket-Version': '13' } : FAILURES[code].status === 503 ? { 'Retry-After': '1' } : {};
      assert.deepEqual(rejectionHeaders(code), expected, code);
    }
    assert.deepEqual(rejectionHeaders('ERR_UPSTREAM_NO_HEALTHY'), { 'Retry-After': '1' });
  });

  test('a missing version (400) does not get the 426 header', () => {
    const { statusLine, headers } = split(
      buildRejection('ERR_HANDSHAKE_WS_VERSION_MISSING', rejectionHeaders('ERR_HANDSHAKE_WS_VERSION_MISSING')),
    );
    assert.equal(statusLine, 'HTTP/1.1 400 Bad Request');
    assert.equal(
      headers.some(([name]) => name.toLowerCase() === 'sec-websocket-version'),
      false,
    );
  });
});
