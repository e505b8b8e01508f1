import { SocketAddress } from 'node:net';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  PP2_TYPE,
  PROXY_V2_SIGNATURE,
  awsVpceTlv,
  crc32c,
  decodeProxyHeader,
  encodeProxyHeaderV1,
  encodeProxyHeaderV2,
  type ProxyDecodeDone,
  type ProxyDecodeOptions,
  type ProxyDecodeResult,
  type ProxyProtocolErrorCode,
  type ProxyProtocolHeader,
  type ProxyTlv,
  type ProxyV1EncodeInput,
  type ProxyV2EncodeInput,
} from '../../src/listener/proxy-protocol.js';

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const HTTP_REQUEST = 'GET / HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\r\n';

function ascii(text: string): Buffer {
  return Buffer.from(text, 'latin1');
}

function decodeDone(buf: Buffer, options?: ProxyDecodeOptions): ProxyDecodeDone {
  const result = decodeProxyHeader(buf, options);
  if (result.kind !== 'done') assert.fail(`expected done, got ${JSON.stringify(result)}`);
  return result;
}

function assertError(buf: Buffer, code: ProxyProtocolErrorCode, options?: ProxyDecodeOptions): void {
  const result = decodeProxyHeader(buf, options);
  if (result.kind !== 'error') assert.fail(`expected error ${code}, got ${JSON.stringify(result)}`);
  assert.equal(result.code, code, result.message);
  assert.ok(result.message.length > 10, 'every error carries a sentence');
}

function assertNeedMore(buf: Buffer): void {
  assert.deepEqual(decodeProxyHeader(buf), { kind: 'need-more' }, `for ${JSON.stringify(buf.toString('latin1'))}`);
}

/** Feeds `header` one byte at a time, as the socket glue may see it. */
function assertBytewise(header: Buffer): ProxyDecodeDone {
  for (let end = 0; end < header.length; end++) assertNeedMore(header.subarray(0, end));
  return decodeDone(header);
}

/** A v2 header built by hand, so decoder tests do not rely on the encoder. */
function v2(versionCommand: number, family: number, body: readonly number[] | Buffer, declaredLength = body.length): Buffer {
  const fixed = Buffer.from([...PROXY_V2_SIGNATURE, versionCommand, family, declaredLength >> 8, declaredLength & 0xff]);
  return Buffer.concat([fixed, Buffer.from(body)]);
}

function tlv(type: number, value: readonly number[] | Buffer): Buffer {
  return Buffer.from([type, value.length >> 8, value.length & 0xff, ...value]);
}

/** Node's own compressed form of an IPv6 address (what socket.remoteAddress would say). */
function nodeIPv6(address: string): string {
  return new SocketAddress({ address, family: 'ipv6' }).address;
}

function hexWordsToIPv6(words: readonly number[]): string {
  return words.map((word) => word.toString(16)).join(':');
}

const IPV4_BLOCK = [192, 0, 2, 1, 198, 51, 100, 7, 0xd4, 0x31, 0x01, 0xbb]; // 192.0.2.1:54321 -> 198.51.100.7:443
const IPV6_BLOCK = [
  ...[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01], // 2001:db8::1
  ...[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01], // ::1
  ...[0xc3, 0x50, 0x00, 0x50], // 50000 -> 80
];

function unixBlock(source: string, destination: string): Buffer {
  const block = Buffer.alloc(216);
  block.write(source, 0, 'utf8');
  block.write(destination, 108, 'utf8');
  return block;
}

/**
 * A header captured from an AWS Network Load Balancer for PrivateLink traffic: CRC32C, the 0xEA
 * VPC endpoint TLV and NOOP padding. From aws/elastic-load-balancing-tools,
 * proprot/tst/com/amazonaws/proprot/Compatibility_AwsNetworkLoadBalancerTest.java.
 */
const AWS_NLB_PRIVATELINK = Buffer.from(
  '0d0a0d0a000d0a515549540a' +
    '21110054' +
    'ac1f0771ac1f0a1fc8f20050' +
    '030004e8d6892d' +
    'ea0017017670' + '63652d30386432626631356661633530303163 39'.replace(/ /g, '') +
    '040024' + '00'.repeat(36),
  'hex',
);

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

describe('PROXY v2: CRC32C (spec 2.2.3)', () => {
  it('computes the standard CRC32C check values (RFC 3720 B.4 and "123456789")', () => {
    assert.equal(crc32c(ascii('123456789')), 0xe3069283);
    assert.equal(crc32c(Buffer.alloc(32)), 0x8a9136aa);
    assert.equal(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43);
    assert.equal(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => i))), 0x46dd794e);
    assert.equal(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i))), 0x113fdb5c);
  });

  it('rejects the NLB capture once any byte it covers changes', () => {
    for (const offset of [19, 27, 31, 40, 99]) {
      const tampered = Buffer.from(AWS_NLB_PRIVATELINK);
      tampered[offset] = (tampered[offset] ?? 0) ^ 0x01;
      assertError(tampered, 'v2-bad-crc');
    }
  });

  it('accepts an encoded checksum wherever the CRC TLV sits', () => {
    const crcFirst = v2(
      0x21,
      0x11,
      Buffer.concat([Buffer.from(IPV4_BLOCK), tlv(0x03, [0, 0, 0, 0]), tlv(0x04, [0xaa, 0xbb])]),
    );
    crcFirst.writeUInt32BE(crc32c(crcFirst), 31);
    assert.equal(decodeDone(crcFirst).header.crc32c, crc32c(Buffer.concat([crcFirst.subarray(0, 31), Buffer.alloc(4), crcFirst.subarray(35)])));
    crcFirst[33] = (crcFirst[33] ?? 0) ^ 0x80;
    assertError(crcFirst, 'v2-bad-crc');
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

// ---------------------------------------------------------------------------------------------
// Encoders
// ---------------------------------------------------------------------------------------------

describe('encoders', () => {
  it('writes v1 lines as spec 2.1 shows them', () => {
    const tcp4 = encodeProxyHeaderV1({
      family: 'tcp4',
      source: { address: '192.168.0.1', port: 56324 },
      destination: { address: '192.168.0.11', port: 443 },
    });
    assert.equal(tcp4.toString('latin1'), 'PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n');
    const tcp6 = encodeProxyHeaderV1({
      family: 'tcp6',
      source: { address: '2001:0db8:0:0:0:0:0:0001', port: 0 },
      destination: { address: '::1', port: 65535 },
    });
    assert.equal(tcp6.toString('latin1'), 'PROXY TCP6 2001:db8::1 ::1 0 65535\r\n');
    assert.equal(encodeProxyHeaderV1({ family: 'unknown' }).toString('latin1'), 'PROXY UNKNOWN\r\n');
  });

  it('writes v2 bytes as spec 2.2 lays them out', () => {
    const ipv4 = encodeProxyHeaderV2({
      family: 'tcp4',
      source: { address: '192.0.2.1', port: 54321 },
      destination: { address: '198.51.100.7', port: 443 },
    });
    assert.deepEqual(ipv4, v2(0x21, 0x11, IPV4_BLOCK));
    const ipv6 = encodeProxyHeaderV2({
      family: 'tcp6',
      source: { address: '2001:db8::1', port: 50000 },
      destination: { address: '::1', port: 80 },
    });
    assert.deepEqual(ipv6, v2(0x21, 0x21, IPV6_BLOCK));
    assert.deepEqual(encodeProxyHeaderV2({ command: 'local' }), v2(0x20, 0x00, []));
    assert.deepEqual(
      encodeProxyHeaderV2({ family: 'unix', transport: 'dgram', source: { path: '/a' }, destination: { path: '/b' } }),
      v2(0x21, 0x32, unixBlock('/a', '/b')),
    );
    assert.deepEqual(
      encodeProxyHeaderV2({ family: 'unknown', tlvs: [{ type: 0xe1, value: Buffer.from([5]) }] }),
      v2(0x21, 0x00, [0xe1, 0x00, 0x01, 0x05]),
    );
  });

  it('appends a CRC32C TLV computed over the header with the field zeroed', () => {
    const header = encodeProxyHeaderV2({ command: 'local', crc32c: true });
    assert.equal(header.length, 16 + 7);
    assert.deepEqual(header.subarray(16, 19), Buffer.from([0x03, 0x00, 0x04]));
    const zeroed = Buffer.concat([header.subarray(0, 19), Buffer.alloc(4)]);
    assert.equal(header.readUInt32BE(19), crc32c(zeroed));
  });

  it('builds the AWS VPC endpoint TLV', () => {
    assert.deepEqual(awsVpceTlv('vpce-1'), { type: 0xea, value: Buffer.from([0x01, ...ascii('vpce-1')]) });
  });

  it('refuses inputs that cannot be encoded', () => {
    const v4 = { address: '192.0.2.1', port: 1 };
    const v6 = { address: '::1', port: 1 };
    assert.throws(() => encodeProxyHeaderV1({ family: 'tcp4', source: v6, destination: v4 }), RangeError);
    assert.throws(() => encodeProxyHeaderV1({ family: 'tcp6', source: v6, destination: v4 }), RangeError);
    assert.throws(() => encodeProxyHeaderV1({ family: 'tcp4', source: { ...v4, port: 65536 }, destination: v4 }), RangeError);
    assert.throws(() => encodeProxyHeaderV1({ family: 'tcp4', source: { ...v4, port: 1.5 }, destination: v4 }), RangeError);
    assert.throws(() => encodeProxyHeaderV2({ family: 'tcp6', source: { address: 'fe80::1%eth0', port: 1 }, destination: v6 }), RangeError);
    assert.throws(() => encodeProxyHeaderV2({ family: 'tcp4', source: v4, destination: { ...v4, port: -1 } }), RangeError);
    assert.throws(() => encodeProxyHeaderV2({ family: 'unix', source: { path: 'x'.repeat(109) }, destination: { path: '' } }), RangeError);
    assert.throws(() => encodeProxyHeaderV2({ command: 'local', tlvs: [{ type: 256, value: Buffer.alloc(0) }] }), RangeError);
    assert.throws(() => encodeProxyHeaderV2({ command: 'local', tlvs: [{ type: 4, value: Buffer.alloc(65536) }] }), RangeError);
    const half = { type: 4, value: Buffer.alloc(40000) };
    assert.throws(() => encodeProxyHeaderV2({ command: 'local', tlvs: [half, half] }), RangeError);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

const portArb = fc.nat(65535);
const ipv4EndpointArb = fc.record({ address: fc.ipV4(), port: portArb });
const ipv6EndpointArb = fc.record({ address: fc.ipV6(), port: portArb });
/** IPv6 words biased towards zero runs and 0xffff, where the compressed forms differ. */
const ipv6WordsArb = fc.array(fc.oneof(fc.constant(0), fc.constant(0), fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff })), {
  minLength: 8,
  maxLength: 8,
});
const unixPathArb = fc.oneof(fc.stringMatching(/^\/[a-z0-9._-]{0,100}$/), fc.stringMatching(/^\0[a-z0-9]{1,60}$/));
const vpceIdArb = fc.stringMatching(/^vpce-[0-9a-f]{17}$/);
/** TLVs of any type but CRC32C (the encoder adds that) and AWS (added on purpose below). */
const tlvArb: fc.Arbitrary<ProxyTlv> = fc.record({
  type: fc.integer({ min: 0, max: 255 }).filter((type) => type !== PP2_TYPE.CRC32C && type !== PP2_TYPE.AWS),
  value: fc.uint8Array({ maxLength: 128 }).map((bytes) => Buffer.from(bytes)),
});

const v1InputArb: fc.Arbitrary<ProxyV1EncodeInput> = fc.oneof(
  fc.record({ family: fc.constant('tcp4' as const), source: ipv4EndpointArb, destination: ipv4EndpointArb }),
  fc.record({ family: fc.constant('tcp6' as const), source: ipv6EndpointArb, destination: ipv6EndpointArb }),
  fc.constant({ family: 'unknown' as const }),
);

interface V2Case {
  input: ProxyV2EncodeInput;
  vpceId: string | null;
}

const v2CaseArb: fc.Arbitrary<V2Case> = fc
  .tuple(
    fc.oneof(
      fc.constant({ command: 'local' as const }),
      fc.constant({ family: 'unknown' as const }),
      fc.record({
        family: fc.constant('tcp4' as const),
        transport: fc.constantFrom('stream' as const, 'dgram' as const),
        source: ipv4EndpointArb,
        destination: ipv4EndpointArb,
      }),
      fc.record({
        family: fc.constant('tcp6' as const),
        transport: fc.constantFrom('stream' as const, 'dgram' as const),
        source: ipv6EndpointArb,
        destination: ipv6EndpointArb,
      }),
      fc.record({
        family: fc.constant('unix' as const),
        transport: fc.constantFrom('stream' as const, 'dgram' as const),
        source: fc.record({ path: unixPathArb }),
        destination: fc.record({ path: unixPathArb }),
      }),
    ),
    fc.array(tlvArb, { maxLength: 5 }),
    fc.option(vpceIdArb),
    fc.boolean(),
  )
  .map(([addresses, tlvs, vpceId, withCrc]) => ({
    input: { ...addresses, tlvs: vpceId === null ? tlvs : [awsVpceTlv(vpceId), ...tlvs], crc32c: withCrc },
    vpceId,
  }));

const validHeaderArb: fc.Arbitrary<Buffer> = fc.oneof(
  v1InputArb.map(encodeProxyHeaderV1),
  v2CaseArb.map((testCase) => encodeProxyHeaderV2(testCase.input)),
);

const KINDS = new Set(['need-more', 'done', 'error']);

function assertWellFormed(result: ProxyDecodeResult, input: Buffer): void {
  assert.ok(KINDS.has(result.kind));
  if (result.kind === 'done') assert.ok(result.length > 0 && result.length <= input.length);
  if (result.kind === 'error') assert.ok(result.message.length > 0);
}

function expectedInet(family: 'tcp4' | 'tcp6', endpoint: { address: string; port: number }): { address: string; port: number } {
  return { address: family === 'tcp6' ? nodeIPv6(endpoint.address) : endpoint.address, port: endpoint.port };
}

describe('properties', () => {
  it('v1: encode then decode gives back the addresses and ports', () => {
    fc.assert(
      fc.property(v1InputArb, (input) => {
        const encoded = encodeProxyHeaderV1(input);
        assert.ok(encoded.length <= 107);
        const { header, length } = decodeDone(encoded);
        assert.equal(length, encoded.length);
        assert.equal(header.version, 1);
        assert.equal(header.family, input.family);
        if (input.family === 'unknown') {
          assert.equal(header.source, undefined);
        } else {
          assert.deepEqual(header.source, expectedInet(input.family, input.source));
          assert.deepEqual(header.destination, expectedInet(input.family, input.destination));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('v1: every prefix of a line written with uncompressed or odd IPv6 text needs more', () => {
    fc.assert(
      fc.property(fc.ipV6(), fc.ipV6(), portArb, portArb, (source, destination, sourcePort, destinationPort) => {
        const line = ascii(`PROXY TCP6 ${source} ${destination} ${sourcePort} ${destinationPort}\r\n`);
        fc.pre(line.length <= 107);
        const { header } = assertBytewise(line);
        assert.deepEqual(header.source, { address: nodeIPv6(source), port: sourcePort });
        assert.deepEqual(header.destination, { address: nodeIPv6(destination), port: destinationPort });
      }),
      { numRuns: 300 },
    );
  });

  it('v2: encode then decode gives back addresses, transport and TLVs', () => {
    fc.assert(
      fc.property(v2CaseArb, ({ input, vpceId }) => {
        const encoded = encodeProxyHeaderV2(input);
        const { header, length } = decodeDone(encoded);
        assert.equal(length, encoded.length);
        assert.equal(header.version, 2);
        const inputTlvs = input.tlvs ?? [];
        const expectedTlvs = input.crc32c ? [...inputTlvs.map((entry) => entry.type), PP2_TYPE.CRC32C] : inputTlvs.map((entry) => entry.type);
        assert.deepEqual(
          header.tlvs.map((entry) => entry.type),
          expectedTlvs,
        );
        inputTlvs.forEach((entry, index) => assert.deepEqual(header.tlvs[index]?.value, entry.value));
        assert.equal(header.awsVpceId, vpceId ?? undefined);
        assert.equal(header.crc32c !== undefined, input.crc32c === true);
        if (input.command === 'local') {
          assert.equal(header.command, 'local');
          assert.equal(header.family, 'unknown');
          return;
        }
        assert.equal(header.command, 'proxy');
        assert.equal(header.family, input.family);
        if (input.family === 'unknown') return;
        assert.equal(header.transport, input.transport);
        if (input.family === 'unix') {
          // Compared by field: fast-check may build the input with a null prototype.
          assert.deepEqual(header.source, { path: input.source.path });
          assert.deepEqual(header.destination, { path: input.destination.path });
        } else {
          assert.deepEqual(header.source, expectedInet(input.family, input.source));
          assert.deepEqual(header.destination, expectedInet(input.family, input.destination));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('v2: IPv6 addresses read as Node itself would print them', () => {
    fc.assert(
      fc.property(ipv6WordsArb, ipv6WordsArb, (sourceWords, destinationWords) => {
        const block = Buffer.alloc(36);
        sourceWords.forEach((word, index) => block.writeUInt16BE(word, 2 * index));
        destinationWords.forEach((word, index) => block.writeUInt16BE(word, 16 + 2 * index));
        const { header } = decodeDone(v2(0x21, 0x21, block));
        if (header.family !== 'tcp6') assert.fail(`expected tcp6, got ${header.family}`);
        assert.equal(header.source.address, nodeIPv6(hexWordsToIPv6(sourceWords)));
        assert.equal(header.destination.address, nodeIPv6(hexWordsToIPv6(destinationWords)));
      }),
      { numRuns: 500 },
    );
  });

  it('a valid header split at random points decodes identically, as soon as its last byte arrives', () => {
    fc.assert(
      fc.property(validHeaderArb, fc.uint8Array({ maxLength: 40 }), fc.array(fc.nat(), { maxLength: 6 }), (header, after, cuts) => {
        const whole = decodeDone(header);
        const stream = Buffer.concat([header, after]);
        const points = [...new Set(cuts.map((cut) => cut % (stream.length + 1))), stream.length].sort((a, b) => a - b);
        for (const point of points) {
          const result = decodeProxyHeader(stream.subarray(0, point));
          if (point < header.length) assert.deepEqual(result, { kind: 'need-more' });
          else assert.deepEqual(result, whole);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('random bytes never throw and give one of the three results', () => {
    const prefixed = (prefix: Buffer): fc.Arbitrary<Buffer> =>
      fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.concat([prefix, bytes]));
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
          prefixed(ascii('PROXY ')),
          prefixed(ascii('PROXY TCP4 ')),
          prefixed(ascii('PROXY TCP6 ')),
          prefixed(PROXY_V2_SIGNATURE),
          prefixed(Buffer.concat([PROXY_V2_SIGNATURE, Buffer.from([0x21])])),
        ),
        (input) => assertWellFormed(decodeProxyHeader(input), input),
      ),
      { numRuns: 2000 },
    );
  });

  it('mutated valid headers never throw, a verdict holds for its own bytes, and errors are final', () => {
    const mutatedArb = fc
      .tuple(
        validHeaderArb,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.nat(),
        fc.uint8Array({ maxLength: 20 }),
      )
      .map(([header, edits, cut, tail]) => {
        const bytes = Buffer.from(header);
        for (const [position, value] of edits) bytes[position % bytes.length] = value;
        return Buffer.concat([bytes.subarray(0, cut % (bytes.length + 1)), tail]);
      });
    fc.assert(
      fc.property(mutatedArb, fc.nat(), (input, cut) => {
        const result = decodeProxyHeader(input);
        assertWellFormed(result, input);
        if (result.kind === 'done') {
          // What was consumed is a header by itself.
          assert.deepEqual(decodeProxyHeader(input.subarray(0, result.length)), result);
        }
        // A prefix judged invalid has no valid continuation.
        const prefix = input.subarray(0, cut % (input.length + 1));
        if (decodeProxyHeader(prefix).kind === 'error') assert.equal(result.kind, 'error');
      }),
      { numRuns: 2000 },
    );
  });
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
