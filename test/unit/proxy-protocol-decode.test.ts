import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encodeProxyHeaderV2 } from '../../src/listener/proxy-protocol/encode.js';
import { PP2_TYPE, type ProxyProtocolHeader } from '../../src/listener/proxy-protocol/types.js';
import {
  HTTP_REQUEST,
  ascii,
  decodeDone,
  assertBytewise,
  v2,
  IPV4_BLOCK,
  IPV6_BLOCK,
  unixBlock,
  AWS_NLB_PRIVATELINK,
} from '../helpers/proxy-protocol.js';

// ---------------------------------------------------------------------------------------------
// Fixtures fed byte by byte, and followed by HTTP
// ---------------------------------------------------------------------------------------------

const VALID_HEADERS: [string, Buffer][] = [
  ['v1 TCP4', ascii('PROXY TCP4 198.51.100.22 203.0.113.7 35646 80\r\n')],
  ['v1 TCP6', ascii('PROXY TCP6 2001:db8::1 ::ffff:192.0.2.1 0 65535\r\n')],
  ['v1 TCP6 full', ascii(`PROXY TCP6 ${'ffff:'.repeat(7)}ffff 1:2:3:4:5:6:7:8 65535 65535\r\n`)],
  ['v1 UNKNOWN', ascii('PROXY UNKNOWN\r\n')],
  ['v1 UNKNOWN long', ascii(`PROXY UNKNOWN ${'z'.repeat(91)}\r\n`)],
  ['v2 AWS PrivateLink', AWS_NLB_PRIVATELINK],
  ['v2 LOCAL', v2(0x20, 0x00, [])],
  ['v2 IPv4', v2(0x21, 0x11, IPV4_BLOCK)],
  ['v2 IPv6', v2(0x21, 0x21, IPV6_BLOCK)],
  ['v2 UNIX', v2(0x21, 0x31, unixBlock('/a', '/b'))],
  ['v2 IPv6 with TLVs and CRC', encodeProxyHeaderV2({
    family: 'tcp6',
    source: { address: '2001:db8::7', port: 1 },
    destination: { address: 'fe80::1', port: 2 },
    tlvs: [{ type: PP2_TYPE.AUTHORITY, value: ascii('ws.example') }, { type: PP2_TYPE.NOOP, value: Buffer.alloc(3) }],
    crc32c: true,
  })],
];

describe('fixtures fed as they may arrive', () => {
  for (const [name, header] of VALID_HEADERS) {
    it(`${name}: every strict prefix needs more, the whole is done`, () => {
      assert.equal(assertBytewise(header).length, header.length);
    });

    it(`${name}: the bytes after it are left for HTTP`, () => {
      const alone = decodeDone(header);
      const followed = decodeDone(Buffer.concat([header, ascii(HTTP_REQUEST)]));
      assert.deepEqual(followed, alone);
    });
  }
});
/** Keeps the header type exercised as a whole: narrowing on family gives the right endpoint shape. */
function describeSource(header: ProxyProtocolHeader): string {
  switch (header.family) {
    case 'tcp4':
    case 'tcp6':
      return `${header.source.address}:${header.source.port}`;
    case 'unix':
      return header.source.path;
    case 'unknown':
      return '-';
  }
}

describe('header type', () => {
  it('narrows by family', () => {
    assert.equal(describeSource(decodeDone(v2(0x21, 0x11, IPV4_BLOCK)).header), '192.0.2.1:54321');
    assert.equal(describeSource(decodeDone(v2(0x21, 0x31, unixBlock('/x', '/y'))).header), '/x');
    assert.equal(describeSource(decodeDone(v2(0x20, 0x00, [])).header), '-');
  });
});
