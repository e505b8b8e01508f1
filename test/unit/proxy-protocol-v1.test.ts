import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeProxyHeader } from '../../src/listener/proxy-protocol/decode.js';
import type { ProxyProtocolErrorCode } from '../../src/listener/proxy-protocol/types.js';
import { ascii, decodeDone, assertError, assertNeedMore } from '../helpers/proxy-protocol.js';

// ---------------------------------------------------------------------------------------------
// Version 1
// ---------------------------------------------------------------------------------------------

describe('PROXY v1: valid lines', () => {
  it('decodes the CLB example from elb.md exactly', () => {
    const line = 'PROXY TCP4 198.51.100.22 203.0.113.7 35646 80\r\n';
    assert.deepEqual(decodeProxyHeader(ascii(line)), {
      kind: 'done',
      length: 47,
      header: {
        version: 1,
        command: 'proxy',
        family: 'tcp4',
        transport: 'stream',
        source: { address: '198.51.100.22', port: 35646 },
        destination: { address: '203.0.113.7', port: 80 },
        tlvs: [],
      },
    });
  });

  it('stops at the CRLF and leaves the HTTP request (spec 2.1 example)', () => {
    const line = 'PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n';
    const input = ascii(line + 'GET / HTTP/1.1\r\nHost: 192.168.0.11\r\n\r\n');
    const { length, header } = decodeDone(input);
    assert.equal(length, line.length);
    assert.equal(input.subarray(length).toString('latin1'), 'GET / HTTP/1.1\r\nHost: 192.168.0.11\r\n\r\n');
    assert.deepEqual(header.source, { address: '192.168.0.1', port: 56324 });
    assert.deepEqual(header.destination, { address: '192.168.0.11', port: 443 });
  });

  it('accepts the longest TCP4 and TCP6 lines of spec 2.1 (56 and 104 bytes)', () => {
    const tcp4 = 'PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n';
    const full = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff';
    const tcp6 = `PROXY TCP6 ${full} ${full} 65535 65535\r\n`;
    assert.equal(tcp4.length, 56);
    assert.equal(tcp6.length, 104);
    assert.equal(decodeDone(ascii(tcp4)).length, 56);
    const { header, length } = decodeDone(ascii(tcp6));
    assert.equal(length, 104);
    assert.deepEqual(header.source, { address: full, port: 65535 });
  });

  it('reports IPv6 in compressed lower-case form, like Node sockets', () => {
    const { header } = decodeDone(ascii('PROXY TCP6 2001:0DB8:0000:0000:0000:0000:0000:0001 ::ffff:192.0.2.1 0 65535\r\n'));
    assert.deepEqual(header, {
      version: 1,
      command: 'proxy',
      family: 'tcp6',
      transport: 'stream',
      source: { address: '2001:db8::1', port: 0 },
      destination: { address: '::ffff:192.0.2.1', port: 65535 },
      tlvs: [],
    });
  });

  it('accepts UNKNOWN short, with arbitrary text, and at the 107-byte worst case', () => {
    const unknown = { version: 1, command: 'proxy', family: 'unknown', transport: 'unspec', tlvs: [] };
    assert.deepEqual(decodeProxyHeader(ascii('PROXY UNKNOWN\r\n')), { kind: 'done', length: 15, header: unknown });
    assert.deepEqual(decodeDone(ascii('PROXY UNKNOWN anything at all: \x00\x7f\xff\r\nGET')).header, unknown);
    const full = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff';
    const worst = `PROXY UNKNOWN ${full} ${full} 65535 65535\r\n`;
    assert.equal(worst.length, 107);
    assert.deepEqual(decodeProxyHeader(ascii(worst)), { kind: 'done', length: 107, header: unknown });
  });

  it('accepts a CRLF ending exactly at byte 107', () => {
    const line = `PROXY UNKNOWN ${'x'.repeat(91)}\r\n`;
    assert.equal(line.length, 107);
    assert.equal(decodeDone(ascii(line)).length, 107);
  });
});

describe('PROXY v1: rejected lines', () => {
  const cases: [string, string, ProxyProtocolErrorCode][] = [
    ['HTTP request', 'GET / HTTP/1.1\r\n\r\n', 'not-proxy'],
    ['misspelt signature', 'PROXX TCP4 1.2.3.4 5.6.7.8 1 2\r\n', 'not-proxy'],
    ['short line that is not PROXY', 'PRO\r\n', 'not-proxy'],
    ['no space after PROXY', 'PROXYTCP4 1.2.3.4 5.6.7.8 1 2\r\n', 'v1-bad-syntax'],
    ['nothing after PROXY', 'PROXY\r\n', 'v1-bad-syntax'],
    ['two spaces after PROXY', 'PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n', 'v1-bad-syntax'],
    ['two spaces between addresses', 'PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n', 'v1-bad-syntax'],
    ['trailing space', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n', 'v1-bad-syntax'],
    ['missing port', 'PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n', 'v1-bad-syntax'],
    ['protocol without fields', 'PROXY TCP4\r\n', 'v1-bad-syntax'],
    ['extra field', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n', 'v1-bad-syntax'],
    ['bare LF', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n', 'v1-bad-syntax'],
    ['bare CR', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rGET', 'v1-bad-syntax'],
    ['LF CR', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n\r', 'v1-bad-syntax'],
    ['bare CR inside UNKNOWN', 'PROXY UNKNOWN a\rb\r\n', 'v1-bad-syntax'],
    ['tab separator', 'PROXY TCP4\t1.2.3.4 5.6.7.8 1 2\r\n', 'v1-bad-protocol'],
    ['unknown protocol', 'PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n', 'v1-bad-protocol'],
    ['lower-case protocol', 'PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n', 'v1-bad-protocol'],
    ['UDP4 is not v1', 'PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n', 'v1-bad-protocol'],
    ['UNKNOWN glued to text', 'PROXY UNKNOWNX\r\n', 'v1-bad-protocol'],
    ['octet above 255', 'PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n', 'v1-bad-address'],
    ['leading zero in octet', 'PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n', 'v1-bad-address'],
    ['three octets', 'PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n', 'v1-bad-address'],
    ['IPv6 in TCP4', 'PROXY TCP4 ::1 5.6.7.8 1 2\r\n', 'v1-bad-address'],
    ['IPv4 in TCP6', 'PROXY TCP6 ::1 5.6.7.8 1 2\r\n', 'v1-bad-address'],
    ['IPv6 zone id', 'PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n', 'v1-bad-address'],
    ['two double colons', 'PROXY TCP6 1::2::3 ::1 1 2\r\n', 'v1-bad-address'],
    ['host name', 'PROXY TCP4 localhost 5.6.7.8 1 2\r\n', 'v1-bad-address'],
    ['port above 65535', 'PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n', 'v1-bad-port'],
    ['port with leading zero', 'PROXY TCP4 1.2.3.4 5.6.7.8 080 2\r\n', 'v1-bad-port'],
    ['port with plus sign', 'PROXY TCP4 1.2.3.4 5.6.7.8 +80 2\r\n', 'v1-bad-port'],
    ['negative port', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 -2\r\n', 'v1-bad-port'],
    ['hex port', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 0x50\r\n', 'v1-bad-port'],
  ];
  for (const [name, input, code] of cases) {
    it(`${name} -> ${code}`, () => assertError(ascii(input), code));
  }

  it('rejects 107 bytes without CRLF as v1-too-long, and 106 as need-more', () => {
    assertNeedMore(ascii(`PROXY UNKNOWN ${'x'.repeat(92)}`)); // 106 bytes
    assertError(ascii(`PROXY UNKNOWN ${'x'.repeat(93)}`), 'v1-too-long'); // 107 bytes
    assertError(ascii(`PROXY UNKNOWN ${'x'.repeat(400)}\r\n`), 'v1-too-long');
  });

  it('rejects a CR at byte 107 at once, since its LF would be byte 108', () => {
    const input = ascii(`PROXY UNKNOWN ${'x'.repeat(92)}\r`);
    assert.equal(input.length, 107);
    assertError(input, 'v1-too-long');
  });

  it('rejects a TLS ClientHello and an empty-looking v2 start as not-proxy', () => {
    assertError(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]), 'not-proxy');
    assertError(Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x01]), 'not-proxy');
  });
});

describe('PROXY v1: early decisions on partial input', () => {
  it('fails as soon as the bytes cannot start a valid line', () => {
    const cases: [string, ProxyProtocolErrorCode][] = [
      ['X', 'not-proxy'],
      ['PROXZ', 'not-proxy'],
      ['PROXY-', 'v1-bad-syntax'],
      ['PROXY X', 'v1-bad-protocol'],
      ['PROXY TCP44', 'v1-bad-protocol'],
      ['PROXY UNKNOWNS', 'v1-bad-protocol'],
      ['PROXY  ', 'v1-bad-syntax'],
      ['PROXY TCP4 1.2.3.4  ', 'v1-bad-syntax'],
      ['PROXY TCP4 300', 'v1-bad-address'],
      ['PROXY TCP4 01', 'v1-bad-address'],
      ['PROXY TCP4 1.2.3.4.', 'v1-bad-address'],
      ['PROXY TCP4 ::', 'v1-bad-address'],
      ['PROXY TCP6 :1', 'v1-bad-address'],
      ['PROXY TCP6 :::', 'v1-bad-address'],
      ['PROXY TCP6 1.2', 'v1-bad-address'],
      ['PROXY TCP6 1:2:3:4:5:6:7:8:', 'v1-bad-address'],
      ['PROXY TCP6 12345', 'v1-bad-address'],
      ['PROXY TCP6 ::ffff:1.2.3.4:', 'v1-bad-address'],
      ['PROXY TCP6 fe80::1%', 'v1-bad-address'],
      ['PROXY TCP4 1.2.3.4 5.6.7.8 01', 'v1-bad-port'],
      ['PROXY TCP4 1.2.3.4 5.6.7.8 65536', 'v1-bad-port'],
      ['PROXY TCP4 1.2.3.4 5.6.7.8 1 2 ', 'v1-bad-syntax'],
      ['PROXY TCP4 1.2.3.4\r', 'v1-bad-syntax'],
      ['PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n', 'v1-bad-syntax'],
    ];
    for (const [input, code] of cases) assertError(ascii(input), code);
  });

  it('waits on prefixes that can still become valid', () => {
    const prefixes = [
      '',
      'P',
      'PROXY',
      'PROXY ',
      'PROXY T',
      'PROXY UNKNOWN',
      'PROXY UNKNOWN \x00 anything',
      'PROXY TCP4 ',
      'PROXY TCP4 1.2.',
      'PROXY TCP4 255.255.255.25',
      'PROXY TCP6 ',
      'PROXY TCP6 :',
      'PROXY TCP6 ::',
      'PROXY TCP6 1:2:3:4:5:6:7:',
      'PROXY TCP6 ::ffff:1.',
      'PROXY TCP6 ::ffff:1.2.3.4',
      'PROXY TCP4 1.2.3.4 5.6.7.8 6553',
      'PROXY TCP4 1.2.3.4 5.6.7.8 0 ',
      'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r',
      'PROXY UNKNOWN\r',
    ];
    for (const prefix of prefixes) assertNeedMore(ascii(prefix));
  });
});
