import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { crc32c } from '../../src/listener/proxy-protocol/crc32c.js';
import { ascii, decodeDone, assertError, v2, tlv, IPV4_BLOCK, AWS_NLB_PRIVATELINK } from '../helpers/proxy-protocol.js';

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
