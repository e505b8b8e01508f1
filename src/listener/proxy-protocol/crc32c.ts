/** CRC32C (RFC 4960 appendix B; Castagnoli polynomial, reflected 0x82F63B78), for the v2 TLV of 2.2.3. */

/** The value of a PP2_TYPE_CRC32C TLV is 32 bits (2.2.3). */
export const CRC32C_VALUE_LENGTH = 4;
const CRC32C_INITIAL = 0xffffffff;
const ZERO_CRC_FIELD = new Uint8Array(CRC32C_VALUE_LENGTH);
const CRC32C_TABLE = buildCrc32cTable();

function buildCrc32cTable(): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

function crc32cUpdate(state: number, bytes: Uint8Array, start: number, end: number): number {
  let crc = state;
  for (let i = start; i < end; i++) crc = (CRC32C_TABLE[(crc ^ (bytes[i] ?? 0)) & 0xff] ?? 0) ^ (crc >>> 8);
  return crc;
}

function crc32cFinish(state: number): number {
  return (state ^ 0xffffffff) >>> 0;
}

/** CRC32C of `bytes`, as an unsigned 32-bit number. */
export function crc32c(bytes: Uint8Array): number {
  return crc32cFinish(crc32cUpdate(CRC32C_INITIAL, bytes, 0, bytes.length));
}

/** CRC32C of `buf[0, total)` as if the 4-byte checksum field at `fieldStart` were zero (2.2.3). */
export function crc32cOfHeaderWithZeroedField(buf: Buffer, total: number, fieldStart: number): number {
  let state = crc32cUpdate(CRC32C_INITIAL, buf, 0, fieldStart);
  state = crc32cUpdate(state, ZERO_CRC_FIELD, 0, CRC32C_VALUE_LENGTH);
  state = crc32cUpdate(state, buf, fieldStart + CRC32C_VALUE_LENGTH, total);
  return crc32cFinish(state);
}
