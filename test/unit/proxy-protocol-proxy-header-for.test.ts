import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeProxyHeader } from '../../src/listener/proxy-protocol/decode.js';
import { proxyHeaderFor, type ProxyHeaderEndpoint } from '../../src/listener/proxy-protocol/proxy-header-for.js';
import { PROXY_V2_SIGNATURE, type ProxyProtocolHeader } from '../../src/listener/proxy-protocol/types.js';
import { ascii, v2 } from '../helpers/proxy-protocol.js';

/** Our own decoder reads `header` whole, and nothing but it. */
function roundTrip(header: Buffer): ProxyProtocolHeader {
  const result = decodeProxyHeader(header);
  if (result.kind !== 'done') assert.fail(`expected done, got ${JSON.stringify(result)}`);
  assert.equal(result.length, header.length);
  return result.header;
}

const V1_UNKNOWN = ascii('PROXY UNKNOWN\r\n');
/** Version 2, command LOCAL (0x20); family and transport UNSPEC (0x00); no address block (HAProxy's make_proxy_line_v2). */
const V2_UNSPEC = Buffer.concat([PROXY_V2_SIGNATURE, Buffer.from([0x20, 0x00, 0x00, 0x00])]);

describe('proxyHeaderFor: addresses it can write', () => {
  it('IPv4 client and IPv4 local address (given as Node reports it on a dual-stack socket)', () => {
    const client = { address: '198.51.100.22', port: 35646 };
    for (const local of [{ address: '203.0.113.7', port: 443 }, { address: '::ffff:203.0.113.7', port: 443 }]) {
      const v1 = proxyHeaderFor('v1', client, local);
      assert.deepEqual(v1, ascii('PROXY TCP4 198.51.100.22 203.0.113.7 35646 443\r\n'));
      const v2Header = proxyHeaderFor('v2', client, local);
      // 198.51.100.22 -> 203.0.113.7, 35646 (0x8b3e) -> 443 (0x01bb)
      assert.deepEqual(v2Header, v2(0x21, 0x11, [198, 51, 100, 22, 203, 0, 113, 7, 0x8b, 0x3e, 0x01, 0xbb]));
      for (const header of [v1, v2Header]) {
        const decoded = roundTrip(header);
        assert.equal(decoded.command, 'proxy');
        assert.equal(decoded.family, 'tcp4');
        assert.deepEqual(decoded.source, { address: '198.51.100.22', port: 35646 });
        assert.deepEqual(decoded.destination, { address: '203.0.113.7', port: 443 });
      }
    }
  });

  it('IPv6 client and IPv4 local address: the local address is written IPv4-mapped', () => {
    const client = { address: '2001:db8::1', port: 50000 };
    const local = { address: '127.0.0.1', port: 8080 };
    const v1 = proxyHeaderFor('v1', client, local);
    assert.deepEqual(v1, ascii('PROXY TCP6 2001:db8::1 ::ffff:127.0.0.1 50000 8080\r\n'));
    const v2Header = proxyHeaderFor('v2', client, local);
    assert.deepEqual(
      v2Header,
      v2(0x21, 0x21, [
        ...[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01], // 2001:db8::1
        ...[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1], // ::ffff:127.0.0.1
        ...[0xc3, 0x50, 0x1f, 0x90], // 50000 -> 8080
      ]),
    );
    for (const header of [v1, v2Header]) {
      const decoded = roundTrip(header);
      assert.equal(decoded.family, 'tcp6');
      assert.deepEqual(decoded.source, { address: '2001:db8::1', port: 50000 });
      assert.deepEqual(decoded.destination, { address: '::ffff:127.0.0.1', port: 8080 });
    }
  });

  it('IPv4 client and IPv6 local address: the local address is written 0.0.0.0', () => {
    const client = { address: '192.0.2.1', port: 54321 };
    const local = { address: '2001:db8::80', port: 443 };
    const v1 = proxyHeaderFor('v1', client, local);
    assert.deepEqual(v1, ascii('PROXY TCP4 192.0.2.1 0.0.0.0 54321 443\r\n'));
    const v2Header = proxyHeaderFor('v2', client, local);
    assert.deepEqual(v2Header, v2(0x21, 0x11, [192, 0, 2, 1, 0, 0, 0, 0, 0xd4, 0x31, 0x01, 0xbb]));
    for (const header of [v1, v2Header]) {
      const decoded = roundTrip(header);
      assert.equal(decoded.family, 'tcp4');
      assert.deepEqual(decoded.source, { address: '192.0.2.1', port: 54321 });
      assert.deepEqual(decoded.destination, { address: '0.0.0.0', port: 443 });
    }
  });

  it('writes a missing port as 0', () => {
    const header = proxyHeaderFor('v1', { address: '192.0.2.1', port: undefined }, { address: '192.0.2.2', port: undefined });
    assert.deepEqual(header, ascii('PROXY TCP4 192.0.2.1 192.0.2.2 0 0\r\n'));
  });
});

describe('proxyHeaderFor: never throws', () => {
  const cases: [string, ProxyHeaderEndpoint, ProxyHeaderEndpoint][] = [
    ['empty client address', { address: '', port: 1234 }, { address: '127.0.0.1', port: 80 }],
    ['undefined client address', { address: undefined, port: 1234 }, { address: '127.0.0.1', port: 80 }],
    ['undefined local address (IPv4 client)', { address: '192.0.2.1', port: 1234 }, { address: undefined, port: undefined }],
    ['undefined local address (IPv6 client)', { address: '2001:db8::1', port: 1234 }, { address: undefined, port: 80 }],
    ['empty local address', { address: '192.0.2.1', port: 1234 }, { address: '', port: 80 }],
    ['non-IP client text', { address: 'abc', port: 1234 }, { address: '127.0.0.1', port: 80 }],
    ['host name as client', { address: 'localhost', port: 1234 }, { address: '127.0.0.1', port: 80 }],
    // "::ffff:abc" would be a valid IPv6 address: the mapping must not turn garbage into one.
    ['non-IP local text (IPv6 client)', { address: '2001:db8::1', port: 1234 }, { address: 'abc', port: 80 }],
    // Mapped to 0.0.0.0 only if it is an IPv6 address.
    ['non-IP local text with a colon (IPv4 client)', { address: '192.0.2.1', port: 1234 }, { address: 'zz:zz', port: 80 }],
    ['IPv6 zone id, which the protocol has no room for', { address: 'fe80::1%eth0', port: 1234 }, { address: 'fe80::2', port: 80 }],
    ['IPv4 with a leading zero', { address: '192.0.2.01', port: 1234 }, { address: '127.0.0.1', port: 80 }],
    ['port above 65535', { address: '192.0.2.1', port: 65536 }, { address: '127.0.0.1', port: 80 }],
    ['negative local port', { address: '192.0.2.1', port: 1 }, { address: '127.0.0.1', port: -1 }],
    ['NaN port', { address: '192.0.2.1', port: Number.NaN }, { address: '127.0.0.1', port: 80 }],
  ];
  for (const [name, client, local] of cases) {
    it(`${name}: v1 sends PROXY UNKNOWN, v2 sends LOCAL with AF_UNSPEC`, () => {
      const v1 = proxyHeaderFor('v1', client, local);
      assert.deepEqual(v1, V1_UNKNOWN);
      assert.deepEqual(roundTrip(v1), { version: 1, command: 'proxy', family: 'unknown', transport: 'unspec', tlvs: [] });
      const v2Header = proxyHeaderFor('v2', client, local);
      assert.deepEqual(v2Header, V2_UNSPEC);
      assert.deepEqual(roundTrip(v2Header), { version: 2, command: 'local', family: 'unknown', transport: 'unspec', tlvs: [] });
    });
  }

  it('any addresses and ports give a header our decoder reads whole', () => {
    const addressArb = fc.oneof(
      fc.ipV4(),
      fc.ipV6(),
      fc.ipV4().map((address) => `::ffff:${address}`),
      fc.constantFrom('', '::', '0.0.0.0', 'fe80::1%eth0', 'localhost', 'abc', '::ffff:', '1.2.3', '1::2::3'),
      fc.stringMatching(/^[0-9a-f:.%]{0,45}$/),
      fc.string({ maxLength: 50 }),
      fc.constant(undefined),
    );
    const portArb = fc.oneof(fc.nat(65535), fc.integer(), fc.double(), fc.constant(undefined));
    const endpointArb = fc.record({ address: addressArb, port: portArb });
    fc.assert(
      fc.property(fc.constantFrom('v1' as const, 'v2' as const), endpointArb, endpointArb, (version, client, local) => {
        const header = proxyHeaderFor(version, client, local);
        const decoded = roundTrip(header);
        assert.equal(decoded.version, version === 'v1' ? 1 : 2);
        // Only a v2 header for unknown addresses is LOCAL; everything else names the client.
        assert.equal(decoded.command, version === 'v2' && decoded.family === 'unknown' ? 'local' : 'proxy');
      }),
      { numRuns: 2000 },
    );
  });
});
