/**
 * Issue 13, hostile input on the plain-HTTP path (http-proxy): request heads
 * whose framing two parsers could read differently (CL.TE, TE.CL, duplicate
 * Content-Length, obs-fold, bare LF, a Transfer-Encoding other than chunked)
 * are answered 400 before any byte reaches a backend; and no CR, LF or NUL a
 * client sends ends up splitting a header wsgate forwards or creates.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { rawExchange } from '../helpers/clients.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { startRecordingRawServer, type RecordingRawServer } from '../helpers/recording-raw-server.js';

function startRawBackend(): Promise<RecordingRawServer> {
  return startRecordingRawServer(() => 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', { everyHead: true });
}

describe('plain HTTP: ambiguous framing is refused before any backend', () => {
  let backend: RecordingRawServer;
  let gw: RunningGateway;

  before(async () => {
    backend = await startRawBackend();
    gw = await startGateway({ routes: [{ path: '/', backends: [`127.0.0.1:${backend.port}`] }], trustedProxies: ['127.0.0.1/32'] });
  });
  after(async () => {
    await gw.close();
    await backend.close();
  });

  const smuggled = 'GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n';
  const cases: ReadonlyArray<readonly [string, string]> = [
    ['CL.TE', `POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`],
    ['TE.CL', `POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n`],
    ['two Content-Length values', `POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 40\r\n\r\n${smuggled}`],
    ['Content-Length with a list', `POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 0, 40\r\n\r\n${smuggled}`],
    ['obs-fold', `GET /a HTTP/1.1\r\nHost: x\r\nX-Folded: one\r\n two\r\n\r\n`],
    ['bare LF line ends', `GET /a HTTP/1.1\nHost: x\n\n`],
    ['a bare LF inside the head', `GET /a HTTP/1.1\r\nHost: x\nX-Injected: 1\r\n\r\n`],
    ['Transfer-Encoding other than chunked', `POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n${smuggled}`],
    ['chunked not last', `POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n`],
    ['a space before the colon', `POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n`],
    ['NUL in a header value', `GET /a HTTP/1.1\r\nHost: x\r\nX-A: a\u0000b\r\n\r\n`],
  ];
  for (const [name, request] of cases) {
    test(`${name}: 400, and the backend sees nothing`, async () => {
      backend.clear();
      const response = await rawExchange(gw.port, request);
      assert.match(response, /^HTTP\/1\.1 400 /, `${name}: ${JSON.stringify(response.slice(0, 80))}`);
      assert.equal(backend.received(), '', `${name}: nothing reached the backend`);
    });
  }

  test('a well-formed chunked POST does pass, as sent', async () => {
    backend.clear();
    const response = await rawExchange(gw.port, 'POST /ok HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n');
    assert.match(response, /^HTTP\/1\.1 200 /);
    assert.match(backend.received(), /^POST \/ok HTTP\/1\.1\r\n[^]*\r\n\r\n3\r\nabc\r\n0\r\n\r\n$/);
  });
});

describe('no client byte splits a header wsgate forwards or creates', () => {
  let backend: RecordingRawServer;
  let gw: RunningGateway;

  before(async () => {
    backend = await startRawBackend();
    gw = await startGateway({
      routes: [{ path: '/', backends: [`127.0.0.1:${backend.port}`], stickyCookie: 'WSGATE' }],
      trustedProxies: ['127.0.0.1/32'],
    });
  });
  after(async () => {
    await gw.close();
    await backend.close();
  });

  // Encoded CR/LF and raw ones: Node's parser refuses raw CR, LF and NUL in values; what passes is
  // forwarded as the client wrote it, inside its own header line.
  const values = ['a%0d%0aX-Injected: 1', 'a\\r\\nX-Injected: 1', 'a\u2028X-Injected: 1'];
  for (const value of values) {
    test(`${JSON.stringify(value)} in X-Request-Id, X-Forwarded-Host, X-Forwarded-For and the sticky cookie stays inside its line`, async () => {
      backend.clear();
      const response = await rawExchange(
        gw.port,
        Buffer.from(
          `GET /p HTTP/1.1\r\nHost: x\r\nX-Request-Id: ${value}\r\nX-Forwarded-Host: ${value}\r\nX-Forwarded-For: ${value}\r\nCookie: WSGATE=${value}\r\nConnection: close\r\n\r\n`,
          'latin1',
        ),
      );
      assert.match(response, /^HTTP\/1\.1 (200|400) /);
      const received = backend.received();
      assert.doesNotMatch(received, /\r\nX-Injected: 1\r\n/i, 'no header line of its own');
      assert.doesNotMatch(response, /\r\nX-Injected: 1\r\n/i, 'nor in the response');
    });
  }

  test('raw CR, LF or NUL in a header value are refused by the parser (400), before any backend', async () => {
    for (const bad of ['a\rX-Injected: 1', 'a\u0000b']) {
      backend.clear();
      const response = await rawExchange(gw.port, Buffer.from(`GET /p HTTP/1.1\r\nHost: x\r\nX-Request-Id: ${bad}\r\n\r\n`, 'latin1'));
      assert.match(response, /^HTTP\/1\.1 400 /, JSON.stringify(bad));
      assert.equal(backend.received(), '');
    }
  });
});
