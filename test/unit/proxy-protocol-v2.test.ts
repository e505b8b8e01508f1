import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeProxyHeader } from '../../src/listener/proxy-protocol/decode.js';
import { awsVpceTlv, encodeProxyHeaderV2 } from '../../src/listener/proxy-protocol/encode.js';
import { PROXY_V2_SIGNATURE, type ProxyProtocolErrorCode } from '../../src/listener/proxy-protocol/types.js';
import {
  HTTP_REQUEST,
  ascii,
  decodeDone,
  assertError,
  assertNeedMore,
  v2,
  tlv,
  IPV4_BLOCK,
  IPV6_BLOCK,
  unixBlock,
  AWS_NLB_PRIVATELINK,
} from '../helpers/proxy-protocol.js';

// ---------------------------------------------------------------------------------------------
// Version 2
// ---------------------------------------------------------------------------------------------

describe('PROXY v2: valid headers', () => {
  it('decodes the AWS NLB PrivateLink capture: CRC32C, VPC endpoint id, NOOP padding', () => {
    const input = Buffer.concat([AWS_NLB_PRIVATELINK, ascii(HTTP_REQUEST)]);
    const { header, length } = decodeDone(input);
    assert.equal(length, 100);
    assert.equal(input.subarray(length).toString('latin1'), HTTP_REQUEST);
    assert.deepEqual(header, {
      version: 2,
      command: 'proxy',
      family: 'tcp4',
      transport: 'stream',
      source: { address: '172.31.7.113', port: 51442 },
      destination: { address: '172.31.10.31', port: 80 },
      tlvs: [
        { type: 0x03, value: Buffer.from('e8d6892d', 'hex') },
        { type: 0xea, value: Buffer.concat([Buffer.from([0x01]), ascii('vpce-08d2bf15fac5001c9')]) },
        { type: 0x04, value: Buffer.alloc(36) },
      ],
      crc32c: 0xe8d6892d,
      awsVpceId: 'vpce-08d2bf15fac5001c9',
    });
  });

  it('accepts an NLB health check: LOCAL, AF_UNSPEC, no addresses', () => {
    const input = v2(0x20, 0x00, []);
    assert.deepEqual(decodeProxyHeader(input), {
      kind: 'done',
      length: 16,
      header: { version: 2, command: 'local', family: 'unknown', transport: 'unspec', tlvs: [] },
    });
  });

  it('skips an address block sent with LOCAL and reports no addresses (spec 2.2)', () => {
    const input = Buffer.concat([v2(0x20, 0x11, IPV4_BLOCK), ascii('after')]);
    const { header, length } = decodeDone(input);
    assert.equal(length, 28);
    assert.deepEqual(header, { version: 2, command: 'local', family: 'unknown', transport: 'unspec', tlvs: [] });
  });

  it('decodes PROXY over TCP/IPv4', () => {
    assert.deepEqual(decodeProxyHeader(v2(0x21, 0x11, IPV4_BLOCK)), {
      kind: 'done',
      length: 28,
      header: {
        version: 2,
        command: 'proxy',
        family: 'tcp4',
        transport: 'stream',
        source: { address: '192.0.2.1', port: 54321 },
        destination: { address: '198.51.100.7', port: 443 },
        tlvs: [],
      },
    });
  });

  it('decodes PROXY over TCP/IPv6 with compressed addresses', () => {
    const { header, length } = decodeDone(v2(0x21, 0x21, IPV6_BLOCK));
    assert.equal(length, 52);
    assert.deepEqual(header, {
      version: 2,
      command: 'proxy',
      family: 'tcp6',
      transport: 'stream',
      source: { address: '2001:db8::1', port: 50000 },
      destination: { address: '::1', port: 80 },
      tlvs: [],
    });
  });

  it('decodes UDP over IPv4 and IPv6, reporting the datagram transport', () => {
    assert.equal(decodeDone(v2(0x21, 0x12, IPV4_BLOCK)).header.transport, 'dgram');
    const { header } = decodeDone(v2(0x21, 0x22, IPV6_BLOCK));
    assert.equal(header.family, 'tcp6');
    assert.equal(header.transport, 'dgram');
  });

  it('decodes AF_UNIX stream and datagram paths, including abstract names', () => {
    const stream = decodeDone(v2(0x21, 0x31, unixBlock('/run/lb.sock', '/run/wsgate.sock')));
    assert.equal(stream.length, 16 + 216);
    assert.deepEqual(stream.header, {
      version: 2,
      command: 'proxy',
      family: 'unix',
      transport: 'stream',
      source: { path: '/run/lb.sock' },
      destination: { path: '/run/wsgate.sock' },
      tlvs: [],
    });
    const dgram = decodeDone(v2(0x21, 0x32, unixBlock('\0abstract', '')));
    assert.equal(dgram.header.transport, 'dgram');
    assert.deepEqual(dgram.header.source, { path: '\0abstract' });
    assert.deepEqual(dgram.header.destination, { path: '' });
  });

  it('decodes PROXY with AF_UNSPEC as family unknown without addresses', () => {
    assert.deepEqual(decodeDone(v2(0x21, 0x00, [])).header, {
      version: 2,
      command: 'proxy',
      family: 'unknown',
      transport: 'unspec',
      tlvs: [],
    });
  });

  it('decodes the registered TLVs and keeps every TLV in order', () => {
    const ssl = [0x01, 0, 0, 0, 0, ...tlv(0x21, [...ascii('TLSv1.3')])];
    const body = Buffer.concat([
      Buffer.from(IPV4_BLOCK),
      tlv(0x01, [...ascii('h2')]),
      tlv(0x02, [...Buffer.from('bücher.example', 'utf8')]),
      tlv(0x04, []),
      tlv(0x05, [...Buffer.alloc(128, 7)]),
      tlv(0x20, ssl),
      tlv(0x30, [...ascii('blue')]),
      tlv(0xe0, [1, 2, 3]),
      tlv(0xea, [0x02, 9, 9]), // AWS subtype other than the VPC endpoint id: kept, not decoded
      tlv(0x02, [...ascii('second.example')]), // a repeated type: the first wins
    ]);
    const { header } = decodeDone(v2(0x21, 0x11, body));
    assert.deepEqual(
      header.tlvs.map((entry) => entry.type),
      [0x01, 0x02, 0x04, 0x05, 0x20, 0x30, 0xe0, 0xea, 0x02],
    );
    assert.deepEqual(header.alpn, ascii('h2'));
    assert.equal(header.authority, 'bücher.example');
    assert.deepEqual(header.uniqueId, Buffer.alloc(128, 7));
    assert.deepEqual(header.ssl, Buffer.from(ssl));
    assert.equal(header.netns, 'blue');
    assert.equal(header.awsVpceId, undefined);
    assert.equal(header.crc32c, undefined);
    assert.deepEqual(header.tlvs[6], { type: 0xe0, value: Buffer.from([1, 2, 3]) });
  });

  it('parses TLVs after the address block of a LOCAL header too', () => {
    const input = encodeProxyHeaderV2({ command: 'local', tlvs: [awsVpceTlv('vpce-0123')], crc32c: true });
    const { header } = decodeDone(input);
    assert.equal(header.command, 'local');
    assert.equal(header.awsVpceId, 'vpce-0123');
    assert.equal(header.crc32c, input.readUInt32BE(input.length - 4));
  });

  it('does not alias the caller buffer: TLV values survive the buffer being reused', () => {
    const input = Buffer.from(AWS_NLB_PRIVATELINK);
    const { header } = decodeDone(input);
    input.fill(0);
    assert.equal(header.tlvs[1]?.value.toString('latin1', 1), 'vpce-08d2bf15fac5001c9');
  });

  it('accepts a header exactly at the length cap and rejects one byte above', () => {
    const input = v2(0x21, 0x11, Buffer.concat([Buffer.from(IPV4_BLOCK), tlv(0x04, Buffer.alloc(100))]));
    assert.equal(decodeDone(input, { maxV2Length: input.length }).length, input.length);
    assertError(input, 'v2-too-long', { maxV2Length: input.length - 1 });
  });

  it('takes the largest declared length when the cap allows it', () => {
    const input = v2(0x21, 0x00, [...tlv(0x04, Buffer.alloc(65532))]);
    assert.equal(input.length, 65551);
    assertError(input.subarray(0, 16), 'v2-too-long');
    assert.deepEqual(decodeProxyHeader(input.subarray(0, 16), { maxV2Length: 65551 }), { kind: 'need-more' });
    assert.equal(decodeDone(input, { maxV2Length: 65551 }).length, 65551);
  });
});

describe('PROXY v2: rejected headers', () => {
  const cases: [string, Buffer, ProxyProtocolErrorCode][] = [
    ['wrong signature', Buffer.concat([ascii('\r\n\r\n\0\r\nQUIX\n'), Buffer.from([0x21, 0x11, 0, 12]), Buffer.from(IPV4_BLOCK)]), 'not-proxy'],
    ['version 1 in the binary format', v2(0x11, 0x11, IPV4_BLOCK), 'v2-bad-version'],
    ['version 3', v2(0x31, 0x11, IPV4_BLOCK), 'v2-bad-version'],
    ['command 2', v2(0x22, 0x11, IPV4_BLOCK), 'v2-bad-command'],
    ['command 0xF', v2(0x2f, 0x11, IPV4_BLOCK), 'v2-bad-command'],
    ['family 4', v2(0x21, 0x41, IPV4_BLOCK), 'v2-bad-family'],
    ['transport 3', v2(0x21, 0x13, IPV4_BLOCK), 'v2-bad-family'],
    ['AF_INET with UNSPEC transport', v2(0x21, 0x10, IPV4_BLOCK), 'v2-bad-family'],
    ['AF_UNSPEC with STREAM transport', v2(0x21, 0x01, []), 'v2-bad-family'],
    ['undefined family with LOCAL', v2(0x20, 0xff, []), 'v2-bad-family'],
    ['length shorter than the IPv4 block', v2(0x21, 0x11, IPV4_BLOCK.slice(0, 11)), 'v2-bad-length'],
    ['length shorter than the IPv6 block', v2(0x21, 0x21, IPV4_BLOCK), 'v2-bad-length'],
    ['IPv4 PROXY with no addresses', v2(0x21, 0x11, []), 'v2-bad-length'],
    ['LOCAL whose length cannot hold its family', v2(0x20, 0x31, IPV4_BLOCK), 'v2-bad-length'],
    ['declared length above the default cap', v2(0x21, 0x00, [], 0xffff), 'v2-too-long'],
    ['TLV overrunning the header', v2(0x21, 0x11, [...IPV4_BLOCK, 0x04, 0x00, 0x05, 1, 2, 3]), 'v2-bad-tlv'],
    ['TLV overrunning the header by one byte', v2(0x21, 0x11, [...IPV4_BLOCK, 0x04, 0x00, 0x04, 1, 2, 3]), 'v2-bad-tlv'],
    ['one stray byte after the TLVs', v2(0x21, 0x11, [...IPV4_BLOCK, ...tlv(0x04, [1]), 0x04]), 'v2-bad-tlv'],
    ['two stray bytes after the addresses', v2(0x21, 0x11, [...IPV4_BLOCK, 0x04, 0x00]), 'v2-bad-tlv'],
    ['CRC32C TLV of 3 bytes', v2(0x21, 0x11, [...IPV4_BLOCK, ...tlv(0x03, [0, 0, 0])]), 'v2-bad-tlv'],
    ['two CRC32C TLVs', v2(0x21, 0x11, [...IPV4_BLOCK, ...tlv(0x03, [0, 0, 0, 0]), ...tlv(0x03, [0, 0, 0, 0])]), 'v2-bad-tlv'],
    ['UNIQUE_ID above 128 bytes', v2(0x21, 0x11, [...IPV4_BLOCK, ...tlv(0x05, Buffer.alloc(129))]), 'v2-bad-tlv'],
    ['zeroed CRC32C', v2(0x21, 0x11, [...IPV4_BLOCK, ...tlv(0x03, [0, 0, 0, 0])]), 'v2-bad-crc'],
  ];
  for (const [name, input, code] of cases) {
    it(`${name} -> ${code}`, () => assertError(input, code));
  }

  it('reports each problem from the first bytes that show it', () => {
    assertError(Buffer.from([0x0d, 0x0a, 0x0d, 0x0b]), 'not-proxy');
    assertError(v2(0x11, 0x11, []).subarray(0, 13), 'v2-bad-version');
    assertError(v2(0x23, 0x11, []).subarray(0, 13), 'v2-bad-command');
    assertError(v2(0x21, 0x14, []).subarray(0, 14), 'v2-bad-family');
    assertError(v2(0x21, 0x21, [], 35).subarray(0, 16), 'v2-bad-length');
    // Declared 12 + 3 + 10 bytes, but the TLV header says 50: wrong before its value arrives.
    const overrun = v2(0x21, 0x11, [...IPV4_BLOCK, 0x04, 0x00, 50], 25);
    assert.equal(overrun.length, 31);
    assertError(overrun, 'v2-bad-tlv');
  });

  it('waits while the header is incomplete', () => {
    assertNeedMore(PROXY_V2_SIGNATURE.subarray(0, 5));
    assertNeedMore(v2(0x21, 0x11, IPV4_BLOCK).subarray(0, 27));
    assertNeedMore(v2(0x21, 0x11, [...IPV4_BLOCK, ...tlv(0x04, [1, 2])]).subarray(0, 30));
  });
});
