/** Version 2 (proxy-protocol.txt 2.2): the binary header and its TLVs. */
import { CRC32C_VALUE_LENGTH, crc32cOfHeaderWithZeroedField } from './crc32c.js';
import { NEED_MORE, fail, notProxy } from './decode-result.js';
import { formatIPv6 } from './ipv6-text.js';
import {
  PP2_SUBTYPE_AWS_VPCE_ID,
  PP2_TYPE,
  PROXY_V2_SIGNATURE,
  type ProxyDecodeError,
  type ProxyDecodeResult,
  type ProxyProtocolHeader,
  type ProxyTlvFields,
  type ProxyTransport,
} from './types.js';

export const V2_FIXED_LENGTH = 16;
export const V2_VERSION = 0x2;
export const V2_COMMAND_LOCAL = 0x0;
export const V2_COMMAND_PROXY = 0x1;
export const TLV_HEADER_LENGTH = 3;
const UNIQUE_ID_MAX_LENGTH = 128;
export const UNIX_PATH_LENGTH = 108;

interface V2Layout {
  family: 'tcp4' | 'tcp6' | 'unix' | 'unknown';
  transport: ProxyTransport;
  addressLength: number;
}

/**
 * The family/transport bytes the spec lists as expected (2.2 "In practice"). Other values "must
 * be rejected as invalid by receivers"; this applies to LOCAL too, whose family is otherwise ignored.
 */
const V2_LAYOUTS: ReadonlyMap<number, V2Layout> = new Map([
  [0x00, { family: 'unknown', transport: 'unspec', addressLength: 0 }],
  [0x11, { family: 'tcp4', transport: 'stream', addressLength: 12 }],
  [0x12, { family: 'tcp4', transport: 'dgram', addressLength: 12 }],
  [0x21, { family: 'tcp6', transport: 'stream', addressLength: 36 }],
  [0x22, { family: 'tcp6', transport: 'dgram', addressLength: 36 }],
  [0x31, { family: 'unix', transport: 'stream', addressLength: 216 }],
  [0x32, { family: 'unix', transport: 'dgram', addressLength: 216 }],
]);

/** Where one TLV sits in the input. */
interface TlvSpan {
  type: number;
  valueStart: number;
  valueEnd: number;
}

/** decodeProxyHeader for a buffer that starts with CR. */
export function decodeV2(buf: Buffer, maxLength: number): ProxyDecodeResult {
  const signatureBytes = Math.min(buf.length, PROXY_V2_SIGNATURE.length);
  for (let i = 0; i < signatureBytes; i++) {
    if (buf[i] !== PROXY_V2_SIGNATURE[i]) return notProxy();
  }
  const versionCommand = buf[12];
  if (versionCommand === undefined) return NEED_MORE;
  if (versionCommand >> 4 !== V2_VERSION) {
    return fail('v2-bad-version', `PROXY v2 version nibble is ${versionCommand >> 4}, only 2 is defined`);
  }
  const command = versionCommand & 0x0f;
  if (command !== V2_COMMAND_LOCAL && command !== V2_COMMAND_PROXY) {
    return fail('v2-bad-command', `PROXY v2 command ${command} is neither LOCAL (0) nor PROXY (1)`);
  }
  const familyByte = buf[13];
  if (familyByte === undefined) return NEED_MORE;
  const layout = V2_LAYOUTS.get(familyByte);
  if (!layout) return fail('v2-bad-family', `PROXY v2 family/transport byte 0x${hex2(familyByte)} is not defined`);
  if (buf.length < V2_FIXED_LENGTH) return NEED_MORE;

  const blockLength = buf.readUInt16BE(14);
  const total = V2_FIXED_LENGTH + blockLength;
  if (total > maxLength) return fail('v2-too-long', `PROXY v2 header of ${total} bytes exceeds the ${maxLength}-byte limit`);
  if (blockLength < layout.addressLength) {
    return fail('v2-bad-length', `PROXY v2 length ${blockLength} is shorter than the ${layout.addressLength}-byte address block`);
  }
  // 2.2: the length field, not the family, says where the header ends; TLVs fill the rest.
  const tlvStart = V2_FIXED_LENGTH + layout.addressLength;
  const spans = scanTlvs(buf, tlvStart, total);
  if (!Array.isArray(spans)) return spans;
  if (buf.length < total) return NEED_MORE;

  const crcProblem = verifyCrc32c(buf, total, spans);
  if (crcProblem) return crcProblem;
  const fields = decodeTlvFields(buf, tlvStart, total, spans);
  return { kind: 'done', header: buildV2Header(buf, command, layout, fields), length: total };
}

/**
 * Walks the TLVs (2.2: type, 16-bit length, value) over the bytes received so far, so that an
 * overrun is reported as soon as its TLV header arrives. Returns their spans once all are read.
 */
function scanTlvs(buf: Buffer, start: number, end: number): TlvSpan[] | ProxyDecodeError {
  const spans: TlvSpan[] = [];
  let seenCrc = false;
  let offset = start;
  while (offset < end) {
    if (end - offset < TLV_HEADER_LENGTH) return fail('v2-bad-tlv', 'PROXY v2 header ends with a truncated TLV');
    if (offset + TLV_HEADER_LENGTH > buf.length) return spans; // rest not received yet
    const type = buf[offset] ?? 0;
    const valueLength = ((buf[offset + 1] ?? 0) << 8) | (buf[offset + 2] ?? 0);
    const valueStart = offset + TLV_HEADER_LENGTH;
    const valueEnd = valueStart + valueLength;
    if (valueEnd > end) return fail('v2-bad-tlv', `PROXY v2 TLV 0x${hex2(type)} overruns the header`);
    const problem = checkTlvLength(type, valueLength, seenCrc);
    if (problem) return problem;
    seenCrc ||= type === PP2_TYPE.CRC32C;
    spans.push({ type, valueStart, valueEnd });
    offset = valueEnd;
  }
  return spans;
}

/** The length rules the spec gives for known TLVs (2.2.3 CRC32C: 32 bits; 2.2.5 UNIQUE_ID: up to 128 bytes). */
function checkTlvLength(type: number, valueLength: number, seenCrc: boolean): ProxyDecodeError | undefined {
  if (type === PP2_TYPE.CRC32C && valueLength !== CRC32C_VALUE_LENGTH) {
    return fail('v2-bad-tlv', `PROXY v2 CRC32C TLV is ${valueLength} bytes, not 4`);
  }
  // 2.2.3 speaks of "the checksum field": with two, neither could be verified unambiguously.
  if (type === PP2_TYPE.CRC32C && seenCrc) return fail('v2-bad-tlv', 'PROXY v2 header carries more than one CRC32C TLV');
  if (type === PP2_TYPE.UNIQUE_ID && valueLength > UNIQUE_ID_MAX_LENGTH) {
    return fail('v2-bad-tlv', `PROXY v2 UNIQUE_ID TLV is ${valueLength} bytes, above the 128-byte maximum`);
  }
  return undefined;
}

/** 2.2.3: CRC32C of the whole header with the checksum field zeroed must equal the field. */
function verifyCrc32c(buf: Buffer, total: number, spans: TlvSpan[]): ProxyDecodeError | undefined {
  const span = spans.find((candidate) => candidate.type === PP2_TYPE.CRC32C);
  if (!span) return undefined;
  const received = buf.readUInt32BE(span.valueStart);
  const computed = crc32cOfHeaderWithZeroedField(buf, total, span.valueStart);
  if (computed === received) return undefined;
  return fail('v2-bad-crc', `PROXY v2 CRC32C is 0x${hex8(received)}, the header's is 0x${hex8(computed)}`);
}

/**
 * Copies the TLV block once, so the header does not pin or alias the caller's (possibly large,
 * possibly reused) read buffer; each value is a view into that copy.
 */
function decodeTlvFields(buf: Buffer, tlvStart: number, total: number, spans: TlvSpan[]): ProxyTlvFields {
  const fields: ProxyTlvFields = { tlvs: [] };
  if (spans.length === 0) return fields;
  const block = Buffer.from(buf.subarray(tlvStart, total));
  for (const span of spans) {
    const value = block.subarray(span.valueStart - tlvStart, span.valueEnd - tlvStart);
    fields.tlvs.push({ type: span.type, value });
    applyKnownTlv(fields, span.type, value);
  }
  return fields;
}

/** The first occurrence of each known type wins; all stay in `tlvs`. */
function applyKnownTlv(fields: ProxyTlvFields, type: number, value: Buffer): void {
  switch (type) {
    case PP2_TYPE.ALPN:
      fields.alpn ??= value;
      break;
    case PP2_TYPE.AUTHORITY:
      fields.authority ??= value.toString('utf8');
      break;
    case PP2_TYPE.CRC32C:
      fields.crc32c ??= value.readUInt32BE(0); // length checked in scanTlvs, value verified
      break;
    case PP2_TYPE.UNIQUE_ID:
      fields.uniqueId ??= value;
      break;
    case PP2_TYPE.SSL:
      fields.ssl ??= value;
      break;
    case PP2_TYPE.NETNS:
      fields.netns ??= value.toString('latin1');
      break;
    case PP2_TYPE.AWS:
      // AWS NLB: first byte is a subtype; 0x01 is the VPC endpoint id in ASCII. Others are skipped.
      if (value[0] === PP2_SUBTYPE_AWS_VPCE_ID) fields.awsVpceId ??= value.toString('latin1', 1);
      break;
    default:
      break; // NOOP (2.2.4) and unregistered types: kept in `tlvs` only
  }
}

function buildV2Header(buf: Buffer, command: number, layout: V2Layout, fields: ProxyTlvFields): ProxyProtocolHeader {
  if (command === V2_COMMAND_LOCAL) {
    return { version: 2, command: 'local', family: 'unknown', transport: 'unspec', ...fields };
  }
  const start = V2_FIXED_LENGTH;
  switch (layout.family) {
    case 'unknown':
      return { version: 2, command: 'proxy', family: 'unknown', transport: layout.transport, ...fields };
    case 'tcp4':
      return {
        version: 2,
        command: 'proxy',
        family: 'tcp4',
        transport: layout.transport,
        source: { address: formatIPv4(buf, start), port: buf.readUInt16BE(start + 8) },
        destination: { address: formatIPv4(buf, start + 4), port: buf.readUInt16BE(start + 10) },
        ...fields,
      };
    case 'tcp6':
      return {
        version: 2,
        command: 'proxy',
        family: 'tcp6',
        transport: layout.transport,
        source: { address: formatIPv6(buf, start), port: buf.readUInt16BE(start + 32) },
        destination: { address: formatIPv6(buf, start + 16), port: buf.readUInt16BE(start + 34) },
        ...fields,
      };
    case 'unix':
      return {
        version: 2,
        command: 'proxy',
        family: 'unix',
        transport: layout.transport,
        source: { path: decodeUnixPath(buf, start) },
        destination: { path: decodeUnixPath(buf, start + UNIX_PATH_LENGTH) },
        ...fields,
      };
  }
}

/**
 * A 108-byte sun_path. A path name ends at its first NUL; an abstract name starts with NUL and
 * may contain more, so only trailing NUL padding is removed from it.
 */
function decodeUnixPath(buf: Buffer, start: number): string {
  const end = start + UNIX_PATH_LENGTH;
  if (buf[start] !== 0) {
    const nul = buf.indexOf(0, start);
    return buf.toString('utf8', start, nul === -1 || nul > end ? end : nul);
  }
  let last = end;
  while (last > start && buf[last - 1] === 0) last--;
  return last === start ? '' : buf.toString('utf8', start, last);
}

function formatIPv4(bytes: Uint8Array, start: number): string {
  return `${bytes[start] ?? 0}.${bytes[start + 1] ?? 0}.${bytes[start + 2] ?? 0}.${bytes[start + 3] ?? 0}`;
}

function hex2(value: number): string {
  return value.toString(16).padStart(2, '0');
}

function hex8(value: number): string {
  return value.toString(16).padStart(8, '0');
}
