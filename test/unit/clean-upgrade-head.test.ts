// parseCleanUpgradeHead() against Node's own llhttp: whatever our parser takes,
// llhttp must read the same way (method, target, version, every field as sent,
// the upgrade flag, where the head ends); what it does not take goes to llhttp.
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseCleanUpgradeHead } from '../../src/handshake/clean-upgrade-head.js';

// Node's binding to llhttp, the parser behind http.Server. Internal, so used
// only here, to hold our parser to exactly what Node would have decided.
interface LlhttpParser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(data: Buffer): number | Error;
  finish(): void;
  [key: number]: unknown;
}
interface LlhttpModule {
  HTTPParser: (new () => LlhttpParser) & { REQUEST: number; kOnHeaders: number; kOnHeadersComplete: number };
  methods: string[];
}
const { HTTPParser, methods } = createRequire(import.meta.url)('_http_common') as LlhttpModule;

interface LlhttpReading {
  method: string;
  url: string;
  versionMajor: number;
  versionMinor: number;
  rawHeaders: string[];
  upgrade: boolean;
  headLength: number;
}

const MAX_HEAD = 16 * 1024;

/** llhttp's reading of `bytes`, or undefined when it rejects them or wants more. */
function llhttpRead(bytes: Buffer): LlhttpReading | undefined {
  const parser = new HTTPParser();
  parser.initialize(HTTPParser.REQUEST, {}, MAX_HEAD, 0);
  const raw: string[] = [];
  let url = '';
  let reading: Omit<LlhttpReading, 'headLength'> | undefined;
  parser[HTTPParser.kOnHeaders] = (headers: string[], partUrl: string): void => {
    raw.push(...headers);
    url += partUrl;
  };
  parser[HTTPParser.kOnHeadersComplete] = (
    versionMajor: number, versionMinor: number, headers: string[] | undefined, method: number, partUrl: string | undefined,
    _status: unknown, _message: unknown, upgrade: boolean,
  ): number => {
    if (headers !== undefined) raw.push(...headers);
    if (partUrl !== undefined) url += partUrl;
    reading = { method: methods[method] ?? '?', url, versionMajor, versionMinor, rawHeaders: raw, upgrade };
    return 0;
  };
  const result = parser.execute(bytes);
  if (typeof result !== 'number' || reading === undefined) return undefined;
  return { ...reading, headLength: result };
}

function assertAgreesWithLlhttp(bytes: Buffer): 'taken' | 'left' {
  const ours = parseCleanUpgradeHead(bytes, MAX_HEAD);
  if (ours === undefined) return 'left';
  const theirs = llhttpRead(bytes);
  assert.ok(theirs !== undefined, `llhttp rejects a head we took: ${JSON.stringify(bytes.toString('latin1'))}`);
  assert.equal(theirs.method, ours.method);
  assert.equal(theirs.url, ours.url);
  assert.equal(theirs.versionMajor, ours.httpVersionMajor);
  assert.equal(theirs.versionMinor, ours.httpVersionMinor);
  assert.deepEqual(theirs.rawHeaders, ours.rawHeaders);
  assert.equal(theirs.upgrade, true, 'llhttp must see an upgrade too');
  assert.equal(theirs.headLength, ours.headLength);
  // Node's headers object for distinct names: lower-case name -> value.
  const expected: Record<string, string> = {};
  for (let i = 0; i < theirs.rawHeaders.length; i += 2) expected[(theirs.rawHeaders[i] as string).toLowerCase()] = theirs.rawHeaders[i + 1] as string;
  assert.deepEqual({ ...ours.headers }, expected);
  return 'taken';
}

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const head = (lines: string[], after = ''): Buffer => Buffer.from(`${lines.join('\r\n')}\r\n\r\n${after}`, 'latin1');
const BASE = ['GET /chat?room=1 HTTP/1.1', 'Host: example.com', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Key: ${KEY}`, 'Sec-WebSocket-Version: 13'];

describe('parseCleanUpgradeHead', () => {
  it('takes a browser-like handshake and reads it as llhttp does', () => {
    const bytes = head([...BASE, 'Origin: http://example.com', 'Cookie: a=1; b=2', 'Sec-WebSocket-Protocol: chat, superchat', 'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits', 'User-Agent: Mozilla/5.0 (X11; Linux x86_64)']);
    assert.equal(assertAgreesWithLlhttp(bytes), 'taken');
    const parsed = parseCleanUpgradeHead(bytes, MAX_HEAD);
    assert.equal(parsed?.url, '/chat?room=1');
    assert.equal(parsed?.headers['sec-websocket-key'], KEY);
    assert.equal(parsed?.headers.cookie, 'a=1; b=2');
  });

  it('ends the head at the empty line; the frames behind it stay for the tunnel', () => {
    const bytes = head(BASE, '\x81\x85abcd');
    const parsed = parseCleanUpgradeHead(bytes, MAX_HEAD);
    assert.equal(bytes.subarray(parsed?.headLength).toString('latin1'), '\x81\x85abcd');
    assertAgreesWithLlhttp(bytes);
  });

  it('trims optional whitespace around values, keeps inner tabs and spaces, and allows empty values', () => {
    const bytes = head([...BASE, 'X-A:   spaced  value \t ', 'X-B:', 'X-C:\tin\tner\t']);
    const parsed = parseCleanUpgradeHead(bytes, MAX_HEAD);
    assert.equal(parsed?.headers['x-a'], 'spaced  value');
    assert.equal(parsed?.headers['x-b'], '');
    assert.equal(parsed?.headers['x-c'], 'in\tner');
    assertAgreesWithLlhttp(bytes);
  });

  const leftToLlhttp: Array<[string, Buffer]> = [
    ['a partial head', Buffer.from(`${BASE.join('\r\n')}\r\n`, 'latin1')],
    ['obs-fold (RFC 9112 5.2)', head([...BASE, 'X-Long: a', ' b'])],
    ['a bare LF ending a line', Buffer.from(`${BASE.join('\r\n')}\nX-A: 1\r\n\r\n`, 'latin1')],
    ['a bare CR inside a value', head([...BASE, 'X-A: 1\r2'])],
    ['a bare LF inside a value', head([...BASE, 'X-A: 1\n2'])],
    ['obs-text in a value', head([...BASE, 'X-A: caf\xe9'])],
    ['a NUL in a value', head([...BASE, 'X-A: a\x00b'])],
    ['DEL in a value', head([...BASE, 'X-A: a\x7fb'])],
    ['whitespace before the colon', head([...BASE, 'X-A : 1'])],
    ['a field without a colon', head([...BASE, 'X-A 1'])],
    ['Content-Length', head([...BASE, 'Content-Length: 0'])],
    ['Transfer-Encoding', head([...BASE, 'Transfer-Encoding: chunked'])],
    ['two Content-Lengths', head([...BASE, 'Content-Length: 1', 'Content-Length: 2'])],
    ['a duplicate field', head([...BASE, 'X-A: 1', 'x-a: 2'])],
    ['a duplicate Host', head([...BASE, 'Host: other'])],
    ['Set-Cookie (an array in Node)', head([...BASE, 'Set-Cookie: a=1'])],
    ['__proto__ as a name', head([...BASE, '__proto__: x'])],
    ['no Upgrade field', head(BASE.filter((line) => !line.startsWith('Upgrade')))],
    ['Connection without upgrade', head(BASE.map((line) => (line.startsWith('Connection') ? 'Connection: keep-alive' : line)))],
    ['POST', head(BASE.map((line, i) => (i === 0 ? 'POST /chat HTTP/1.1' : line)))],
    ['HTTP/1.0', head(BASE.map((line, i) => (i === 0 ? 'GET /chat HTTP/1.0' : line)))],
    ['two spaces in the request line', head(BASE.map((line, i) => (i === 0 ? 'GET  /chat HTTP/1.1' : line)))],
    ['an absolute-form target', head(BASE.map((line, i) => (i === 0 ? 'GET http://h/chat HTTP/1.1' : line)))],
    ['a fragment in the target', head(BASE.map((line, i) => (i === 0 ? 'GET /chat#x HTTP/1.1' : line)))],
    ['a head as long as the limit', head([...BASE, `X-Big: ${'x'.repeat(MAX_HEAD)}`])],
    ['more than 64 fields', head([...BASE, ...Array.from({ length: 60 }, (_, i) => `X-${i}: ${i}`)])],
  ];
  for (const [what, bytes] of leftToLlhttp) {
    it(`leaves ${what} to llhttp`, () => {
      assert.equal(parseCleanUpgradeHead(bytes, MAX_HEAD), undefined);
    });
  }

  it('is at most as permissive as llhttp, field for field, on generated heads', () => {
    const tchar = fc.constantFrom(...'!#$%&\'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'.split(''));
    const name = fc.string({ unit: tchar, minLength: 1, maxLength: 12 }).map((n) => `X-${n}`);
    const valueChar = fc.constantFrom(...' \tabcXYZ019=;,:/"()<>?@[]{}\\~'.split(''));
    const value = fc.string({ unit: valueChar, maxLength: 20 });
    const ows = fc.constantFrom('', ' ', '  ', '\t', ' \t');
    const pathChar = fc.constantFrom(...'abcXYZ019-._~!$&\'()*+,;=:@/?%'.split(''));
    const path = fc.string({ unit: pathChar, maxLength: 30 }).map((p) => `/${p}`);
    const caseOf = (text: string): fc.Arbitrary<string> => fc.boolean().map((upper) => (upper ? text.toUpperCase() : text));
    const connection = fc
      .tuple(fc.constantFrom('', ' ', '  ', '\t'), fc.constantFrom('', 'keep-alive', 'close', 'x', 'up grade'), fc.constantFrom(',', ', ', ' ,', ' , ', ',,', ',\t'), fc.constantFrom('', ' ', '  ', '\t', ' \t', ' x', ','))
      .chain(([lead, other, comma, trail]) => caseOf('upgrade').map((token) => `Connection:${lead}${other === '' ? '' : `${other}${comma}`}${token}${trail}`));
    const extra = fc.uniqueArray(fc.tuple(name, ows, value, ows), { maxLength: 8, selector: ([n]) => n.toLowerCase() });
    let taken = 0;
    fc.assert(
      fc.property(path, extra, connection, caseOf('websocket'), (target, fields, connectionLine, wsToken) => {
        const lines = [`GET ${target} HTTP/1.1`, 'Host: h', `Upgrade: ${wsToken}`, connectionLine, ...fields.map(([n, a, v, b]) => `${n}:${a}${v}${b}`)];
        if (assertAgreesWithLlhttp(head(lines)) === 'taken') taken++;
      }),
      { numRuns: 3000 },
    );
    // Most generated heads are clean, so most must be taken: otherwise the check above proved nothing.
    assert.ok(taken > 1000, `only ${taken} of 3000 generated heads taken`);
  });

  it('is at most as permissive as llhttp on mutated and random bytes', () => {
    const seed = head([...BASE, 'X-A: 1', 'Cookie: k=v']);
    const interesting = fc.constantFrom(0x0d, 0x0a, 0x20, 0x09, 0x3a, 0x00, 0x7f, 0x80, 0xff, 0x2c, 0x61, 0x2f, 0x3f, 0x23, 0x25);
    const edit = fc.tuple(fc.nat({ max: seed.length - 1 }), fc.constantFrom('insert', 'replace', 'delete'), interesting);
    let taken = 0;
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 4 }), (edits) => {
        const bytes = [...seed];
        for (const [at, kind, byte] of edits) {
          const i = Math.min(at, bytes.length - 1);
          if (kind === 'insert') bytes.splice(i, 0, byte);
          else if (kind === 'replace') bytes[i] = byte;
          else bytes.splice(i, 1);
        }
        if (assertAgreesWithLlhttp(Buffer.from(bytes)) === 'taken') taken++;
      }),
      { numRuns: 5000 },
    );
    // Some edits land in values and stay clean; those exercise the "taken" side.
    assert.ok(taken > 100, `only ${taken} mutated heads taken`);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => void assertAgreesWithLlhttp(Buffer.from(bytes))), { numRuns: 2000 });
  });
});
