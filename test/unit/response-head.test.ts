import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MAX_RESPONSE_HEAD, parseResponseHead, type ResponseHead } from '../../src/http/response-head.js';

const SWITCHING =
  'HTTP/1.1 101 Switching Protocols\r\n' +
  'Upgrade: websocket\r\n' +
  'Connection: Upgrade\r\n' +
  'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n' +
  'Sec-WebSocket-Protocol: chat\r\n' +
  '\r\n';

const FORBIDDEN_BODY = 'origin not allowed';
const FORBIDDEN =
  'HTTP/1.1 403 Forbidden\r\n' +
  'Content-Type: text/plain\r\n' +
  `Content-Length: ${FORBIDDEN_BODY.length}\r\n` +
  'X-Backend: b1\r\n' +
  '\r\n';

const CHUNKED = 'HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n';

function done(text: string | Buffer): ResponseHead {
  const result = parseResponseHead(typeof text === 'string' ? Buffer.from(text, 'latin1') : text);
  assert.equal(result.kind, 'done', `expected done, got ${JSON.stringify(result)}`);
  if (result.kind !== 'done') throw new Error('unreachable');
  return result.head;
}

function errorOf(text: string | Buffer): string {
  const result = parseResponseHead(typeof text === 'string' ? Buffer.from(text, 'latin1') : text);
  assert.equal(result.kind, 'error', `expected error, got ${JSON.stringify(result)}`);
  if (result.kind !== 'error') throw new Error('unreachable');
  return result.reason;
}

/** Two unmasked server frames: text "hi" and a close frame with code 1000. */
const FRAMES = Buffer.from([0x81, 0x02, 0x68, 0x69, 0x88, 0x02, 0x03, 0xe8]);

describe('parseResponseHead: complete heads', () => {
  test('a 101 with frames behind it: headLength is exactly the head', () => {
    const buffer = Buffer.concat([Buffer.from(SWITCHING, 'latin1'), FRAMES]);
    const head = done(buffer);
    assert.deepEqual(head, {
      statusCode: 101,
      statusLine: 'HTTP/1.1 101 Switching Protocols',
      headers: [
        ['Upgrade', 'websocket'],
        ['Connection', 'Upgrade'],
        ['Sec-WebSocket-Accept', 's3pPLMBiTxaQ9kYGzzhZRbK+xOo='],
        ['Sec-WebSocket-Protocol', 'chat'],
      ],
      headLength: SWITCHING.length,
      contentLength: undefined,
      chunked: false,
    });
    assert.deepEqual(buffer.subarray(head.headLength), FRAMES);
  });

  test('frames that themselves contain CRLFCRLF do not move the head end', () => {
    const payload = Buffer.from('\r\n\r\nHTTP/1.1 200 OK\r\n\r\n', 'latin1');
    const frame = Buffer.concat([Buffer.from([0x82, payload.length]), payload]);
    const head = done(Buffer.concat([Buffer.from(SWITCHING, 'latin1'), frame]));
    assert.equal(head.headLength, SWITCHING.length);
    assert.equal(head.headers.length, 4);
  });

  test('a 403 with Content-Length and its body behind it', () => {
    const head = done(FORBIDDEN + FORBIDDEN_BODY);
    assert.equal(head.statusCode, 403);
    assert.equal(head.statusLine, 'HTTP/1.1 403 Forbidden');
    assert.equal(head.contentLength, 18);
    assert.equal(head.chunked, false);
    assert.equal(head.headLength, FORBIDDEN.length);
    assert.deepEqual(head.headers, [
      ['Content-Type', 'text/plain'],
      ['Content-Length', '18'],
      ['X-Backend', 'b1'],
    ]);
  });

  test('a chunked response', () => {
    const head = done(`${CHUNKED}5\r\nhello\r\n0\r\n\r\n`);
    assert.equal(head.statusCode, 400);
    assert.equal(head.chunked, true);
    assert.equal(head.contentLength, undefined);
    assert.equal(head.headLength, CHUNKED.length);
  });

  test('chunked is found in a coding list, in any case', () => {
    assert.equal(done('HTTP/1.1 500 x\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n').chunked, true);
    assert.equal(done('HTTP/1.1 500 x\r\nTransfer-Encoding: gzip\r\n\r\n').chunked, false);
  });

  test('a status line without a reason phrase, or with an empty one, and HTTP/1.0', () => {
    assert.equal(done('HTTP/1.1 101\r\n\r\n').statusLine, 'HTTP/1.1 101');
    assert.equal(done('HTTP/1.1 101 \r\n\r\n').statusLine, 'HTTP/1.1 101 ');
    assert.equal(done('HTTP/1.0 404 Not Found\r\n\r\n').statusCode, 404);
    assert.deepEqual(done('HTTP/1.1 204 No Content\r\n\r\n').headers, []);
  });

  test('header names keep their case; values are trimmed; empty values are allowed', () => {
    const head = done('HTTP/1.1 101 OK\r\nuPgRaDe:websocket\r\nX-Empty:\r\nX-Spaces:   a b   \r\n\r\n');
    assert.deepEqual(head.headers, [
      ['uPgRaDe', 'websocket'],
      ['X-Empty', ''],
      ['X-Spaces', 'a b'],
    ]);
  });

  test('identical repeated Content-Length values collapse into one (RFC 9110 8.6)', () => {
    const head = done('HTTP/1.1 403 x\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n');
    assert.equal(head.contentLength, 5);
    assert.equal(head.headers.length, 2);
  });

  test('Content-Length: 0 and leading zeros', () => {
    assert.equal(done('HTTP/1.1 403 x\r\nContent-Length: 0\r\n\r\n').contentLength, 0);
    assert.equal(done('HTTP/1.1 403 x\r\nContent-Length: 007\r\n\r\n').contentLength, 7);
  });

  test('bytes above 0x7f in a value pass through as latin1', () => {
    const buffer = Buffer.from('HTTP/1.1 403 x\r\nX-Name: caf\xe9\r\n\r\n', 'latin1');
    assert.deepEqual(done(buffer).headers, [['X-Name', 'caf\xe9']]);
  });
});

describe('parseResponseHead: invalid heads', () => {
  test('conflicting Content-Length values', () => {
    assert.equal(errorOf('HTTP/1.1 403 x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n'), 'invalid Content-Length');
  });

  test('a Content-Length list, even of equal values, and non-numbers', () => {
    for (const value of ['5, 5', '5,6', '-1', '+5', '5a', '0x10', '1e3', '', '1234567890123456', '5 5']) {
      assert.equal(
        errorOf(`HTTP/1.1 403 x\r\nContent-Length: ${value}\r\n\r\n`),
        'invalid Content-Length',
        JSON.stringify(value),
      );
    }
  });

  test('both Content-Length and chunked, in either order', () => {
    assert.equal(
      errorOf('HTTP/1.1 403 x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n'),
      'both Content-Length and Transfer-Encoding',
    );
    assert.equal(
      errorOf('HTTP/1.1 403 x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n'),
      'both Content-Length and Transfer-Encoding',
    );
  });

  // Bug: the check only fires when "chunked" is the coding, so any other
  // Transfer-Encoding sent with Content-Length is accepted and the
  // Content-Length is used, although RFC 9112 6.3 says Transfer-Encoding
  // overrides it and the module's own comment says a sender must not send both.
  test('both Content-Length and a non-chunked Transfer-Encoding', () => {
    assert.equal(
      errorOf('HTTP/1.1 403 x\r\nTransfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\n'),
      'both Content-Length and Transfer-Encoding',
    );
  });

  // Bug (same cause): a second Transfer-Encoding line overwrites what the first
  // found, so "chunked" followed by "gzip" hides the chunked coding and the
  // conflicting Content-Length is accepted.
  test('both Content-Length and Transfer-Encoding split over two lines', () => {
    assert.equal(
      errorOf('HTTP/1.1 403 x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\n'),
      'both Content-Length and Transfer-Encoding',
    );
  });

  test('obs-fold (a continuation line) is refused', () => {
    assert.equal(errorOf('HTTP/1.1 403 x\r\nX-Long: a\r\n b\r\n\r\n'), 'invalid header line');
    assert.equal(errorOf('HTTP/1.1 403 x\r\nX-Long: a\r\n\tb: c\r\n\r\n'), 'invalid header line');
  });

  test('bad header names and lines', () => {
    const lines = [
      'X Bad: 1',
      'X-Bad : 1',
      ' X-Bad: 1',
      ': no name',
      'no colon at all',
      'X-Bad\x00: 1',
      'X(Bad): 1',
      'X/Bad: 1',
      'X"Bad: 1',
      'X-\xe9: 1',
      'X-Bare\nLF: 1',
      'X-Bare: a\nb',
    ];
    for (const line of lines) {
      assert.equal(errorOf(`HTTP/1.1 403 x\r\n${line}\r\n\r\n`), 'invalid header line', JSON.stringify(line));
    }
  });

  test('bad status lines', () => {
    const statusLines = [
      '',
      'HTTP/1.1',
      'HTTP/1.1 ',
      'HTTP/1.1 10 Short',
      'HTTP/1.1 1010 Long',
      'HTTP/1.1 abc Letters',
      'HTTP/1.1  101 Two spaces',
      'HTTP/1.2 101 Version',
      'HTTP/2 101 Version',
      'HTTP/2.0 101 Version',
      'http/1.1 101 Lowercase',
      'HTTP/1.1\t101 Tab',
      'HTTP/1.1 101\tTab',
      ' HTTP/1.1 101 Leading space',
      'ICY 200 OK',
      'HTTP/1.1 101 Bare\nLF',
    ];
    for (const line of statusLines) {
      assert.equal(errorOf(`${line}\r\nUpgrade: websocket\r\n\r\n`), 'invalid status line', JSON.stringify(line));
    }
  });

  test('a head larger than MAX_RESPONSE_HEAD, complete or not', () => {
    assert.equal(MAX_RESPONSE_HEAD, 16 * 1024);
    const start = 'HTTP/1.1 101 Switching Protocols\r\nX-Pad: ';
    // Complete head of exactly MAX_RESPONSE_HEAD bytes: accepted.
    const exact = `${start}${'a'.repeat(MAX_RESPONSE_HEAD - start.length - 4)}\r\n\r\n`;
    assert.equal(exact.length, MAX_RESPONSE_HEAD);
    assert.equal(done(exact).headLength, MAX_RESPONSE_HEAD);
    // One byte more: refused.
    const over = `${start}${'a'.repeat(MAX_RESPONSE_HEAD - start.length - 3)}\r\n\r\n`;
    assert.equal(errorOf(over), 'response head too large');
    // Incomplete and already at the limit: refused without waiting for more.
    const incomplete = `${start}${'a'.repeat(MAX_RESPONSE_HEAD - start.length)}`;
    assert.equal(incomplete.length, MAX_RESPONSE_HEAD);
    assert.equal(errorOf(incomplete), 'response head too large');
    // Incomplete and one byte under: wait.
    assert.deepEqual(parseResponseHead(Buffer.from(incomplete.slice(0, -1), 'latin1')), { kind: 'need-more' });
  });
});

describe('parseResponseHead: incremental input', () => {
  test('empty input and a head without its blank line need more', () => {
    assert.deepEqual(parseResponseHead(Buffer.alloc(0)), { kind: 'need-more' });
    assert.deepEqual(parseResponseHead(Buffer.from('HTTP/1.1 101 OK\r\nUpgrade: websocket\r\n')), { kind: 'need-more' });
    assert.deepEqual(parseResponseHead(Buffer.from('HTTP/1.1 101 OK\r\n\r')), { kind: 'need-more' });
    // Bare-LF line ends never complete a head.
    assert.deepEqual(parseResponseHead(Buffer.from('HTTP/1.1 101 OK\nUpgrade: websocket\n\n')), { kind: 'need-more' });
  });

  for (const [label, text] of [
    ['101', SWITCHING],
    ['403 with Content-Length', FORBIDDEN],
    ['chunked', CHUNKED],
  ] as const) {
    test(`${label}: one byte at a time, every strict prefix needs more and the whole is done`, () => {
      const whole = Buffer.from(text, 'latin1');
      const expected = parseResponseHead(whole);
      assert.equal(expected.kind, 'done');
      for (let length = 0; length < whole.length; length++) {
        assert.deepEqual(parseResponseHead(whole.subarray(0, length)), { kind: 'need-more' }, `prefix of ${length} bytes`);
      }
      // Growing the buffer one byte at a time, as a socket might deliver it.
      let received = Buffer.alloc(0);
      const kinds: string[] = [];
      for (const byte of whole) {
        received = Buffer.concat([received, Buffer.from([byte])]);
        kinds.push(parseResponseHead(received).kind);
      }
      assert.deepEqual(kinds, [...Array<string>(whole.length - 1).fill('need-more'), 'done']);
      assert.deepEqual(parseResponseHead(received), expected);
    });
  }

  test('property: any split into chunks gives need-more until the head is complete, then the same head', () => {
    const trailing = Buffer.concat([FRAMES, Buffer.from(FORBIDDEN_BODY)]);
    fc.assert(
      fc.property(
        fc.constantFrom(SWITCHING, FORBIDDEN, CHUNKED),
        fc.uint8Array({ maxLength: 32 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (text, extra, cutSeeds) => {
          const head = Buffer.from(text, 'latin1');
          const whole = Buffer.concat([head, trailing, extra]);
          const expected = parseResponseHead(head);
          assert.equal(expected.kind, 'done');
          const cuts = [...new Set(cutSeeds.map((seed) => seed % (whole.length + 1)))].sort((a, b) => a - b);
          let received = Buffer.alloc(0);
          let start = 0;
          for (const end of [...cuts, whole.length]) {
            if (end <= start) continue;
            received = Buffer.concat([received, whole.subarray(start, end)]);
            start = end;
            const result = parseResponseHead(received);
            if (received.length < head.length) assert.deepEqual(result, { kind: 'need-more' });
            else assert.deepEqual(result, expected);
          }
          assert.equal(received.length, whole.length);
        },
      ),
      { numRuns: 500 },
    );
  });

  test('property: generated valid heads parse back to their parts', () => {
    const name = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/).filter((n) => {
      const lower = n.toLowerCase();
      return lower !== 'content-length' && lower !== 'transfer-encoding';
    });
    const value = fc.stringMatching(/^[!-~]([ !-~]{0,20}[!-~])?$/);
    fc.assert(
      fc.property(
        fc.integer({ min: 100, max: 599 }),
        fc.stringMatching(/^[A-Za-z ]{0,20}$/),
        fc.array(fc.tuple(name, value), { maxLength: 8 }),
        (status, reason, headers) => {
          const statusLine = `HTTP/1.1 ${status}${reason === '' ? '' : ` ${reason}`}`;
          const text = `${statusLine}\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`;
          assert.deepEqual(done(text), {
            statusCode: status,
            statusLine,
            headers,
            headLength: text.length,
            contentLength: undefined,
            chunked: false,
          });
        },
      ),
    );
  });
});
