import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { crc32c } from '../../src/listener/proxy-protocol/crc32c.js';
import { awsVpceTlv, encodeProxyHeaderV1, encodeProxyHeaderV2 } from '../../src/listener/proxy-protocol/encode.js';
import { ascii, v2, IPV4_BLOCK, IPV6_BLOCK, unixBlock } from '../helpers/proxy-protocol.js';

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
