/** Helpers of the PROXY protocol unit tests (test/unit/proxy-protocol-*.test.ts). */
import { SocketAddress } from 'node:net';
import assert from 'node:assert/strict';
import { decodeProxyHeader } from '../../src/listener/proxy-protocol/decode.js';
import { PROXY_V2_SIGNATURE, type ProxyDecodeDone, type ProxyDecodeOptions, type ProxyProtocolErrorCode } from '../../src/listener/proxy-protocol/types.js';

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

export const HTTP_REQUEST = 'GET / HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\r\n';

export function ascii(text: string): Buffer {
  return Buffer.from(text, 'latin1');
}

export function decodeDone(buf: Buffer, options?: ProxyDecodeOptions): ProxyDecodeDone {
  const result = decodeProxyHeader(buf, options);
  if (result.kind !== 'done') assert.fail(`expected done, got ${JSON.stringify(result)}`);
  return result;
}

export function assertError(buf: Buffer, code: ProxyProtocolErrorCode, options?: ProxyDecodeOptions): void {
  const result = decodeProxyHeader(buf, options);
  if (result.kind !== 'error') assert.fail(`expected error ${code}, got ${JSON.stringify(result)}`);
  assert.equal(result.code, code, result.message);
  assert.ok(result.message.length > 10, 'every error carries a sentence');
}

export function assertNeedMore(buf: Buffer): void {
  assert.deepEqual(decodeProxyHeader(buf), { kind: 'need-more' }, `for ${JSON.stringify(buf.toString('latin1'))}`);
}

/** Feeds `header` one byte at a time, as the socket glue may see it. */
export function assertBytewise(header: Buffer): ProxyDecodeDone {
  for (let end = 0; end < header.length; end++) assertNeedMore(header.subarray(0, end));
  return decodeDone(header);
}

/** A v2 header built by hand, so decoder tests do not rely on the encoder. */
export function v2(versionCommand: number, family: number, body: readonly number[] | Buffer, declaredLength = body.length): Buffer {
  const fixed = Buffer.from([...PROXY_V2_SIGNATURE, versionCommand, family, declaredLength >> 8, declaredLength & 0xff]);
  return Buffer.concat([fixed, Buffer.from(body)]);
}

export function tlv(type: number, value: readonly number[] | Buffer): Buffer {
  return Buffer.from([type, value.length >> 8, value.length & 0xff, ...value]);
}

/** Node's own compressed form of an IPv6 address (what socket.remoteAddress would say). */
export function nodeIPv6(address: string): string {
  return new SocketAddress({ address, family: 'ipv6' }).address;
}

export function hexWordsToIPv6(words: readonly number[]): string {
  return words.map((word) => word.toString(16)).join(':');
}

export const IPV4_BLOCK = [192, 0, 2, 1, 198, 51, 100, 7, 0xd4, 0x31, 0x01, 0xbb]; // 192.0.2.1:54321 -> 198.51.100.7:443
export const IPV6_BLOCK = [
  ...[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01], // 2001:db8::1
  ...[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01], // ::1
  ...[0xc3, 0x50, 0x00, 0x50], // 50000 -> 80
];

export function unixBlock(source: string, destination: string): Buffer {
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
export const AWS_NLB_PRIVATELINK = Buffer.from(
  '0d0a0d0a000d0a515549540a' +
    '21110054' +
    'ac1f0771ac1f0a1fc8f20050' +
    '030004e8d6892d' +
    'ea0017017670' + '63652d30386432626631356661633530303163 39'.replace(/ /g, '') +
    '040024' + '00'.repeat(36),
  'hex',
);
