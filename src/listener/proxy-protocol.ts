/**
 * PROXY protocol versions 1 and 2 (haproxy doc/proxy-protocol.txt): a pure decoder for what a
 * load balancer prepends to a connection, and encoders for sending it on to backends.
 *
 * The decoder keeps no state: every call re-parses from the start of the buffer it is given.
 * A header is at most 107 bytes (v1) or a capped, normally tiny block (v2), so re-parsing as
 * bytes arrive costs less than a state machine would, and the socket glue only has to keep
 * appending what it reads and call again until it gets 'done' or 'error'.
 */
import { isIPv4, isIPv6 } from 'node:net';

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

export interface ProxyInetEndpoint {
  /** Dotted IPv4, or IPv6 in the compressed form Node uses for socket.remoteAddress. */
  address: string;
  port: number;
}

export interface ProxyUnixEndpoint {
  /** Socket path; an abstract socket name starts with "\0". Empty for an unnamed socket. */
  path: string;
}

/** One v2 Type-Length-Value vector as received (proxy-protocol.txt 2.2). */
export interface ProxyTlv {
  type: number;
  value: Buffer;
}

/** SOCK_STREAM, SOCK_DGRAM, or unspecified (v1 UNKNOWN, v2 UNSPEC and LOCAL). */
export type ProxyTransport = 'stream' | 'dgram' | 'unspec';

/** TLVs as a list, plus the well-known ones decoded. Always empty for v1. */
export interface ProxyTlvFields {
  /** Every TLV in order of appearance, NOOP and CRC32C included. */
  tlvs: ProxyTlv[];
  /** PP2_TYPE_ALPN (0x01): the application protocol, as a byte sequence. */
  alpn?: Buffer;
  /** PP2_TYPE_AUTHORITY (0x02): the host name the client asked for (SNI), UTF-8. */
  authority?: string;
  /** PP2_TYPE_CRC32C (0x03): present only when it matched the header. */
  crc32c?: number;
  /** PP2_TYPE_UNIQUE_ID (0x05): opaque connection id, at most 128 bytes. */
  uniqueId?: Buffer;
  /** PP2_TYPE_SSL (0x20): kept raw (client flags, verify result, sub-TLVs). */
  ssl?: Buffer;
  /** PP2_TYPE_NETNS (0x30): network namespace name. */
  netns?: string;
  /** AWS TLV 0xEA, subtype 0x01: the VPC endpoint id ("vpce-..."), for PrivateLink traffic. */
  awsVpceId?: string;
}

interface ProxyHeaderBase extends ProxyTlvFields {
  version: 1 | 2;
  transport: ProxyTransport;
}

/**
 * A relayed TCP or UDP connection. `family` keeps v1's names for the address family; a v2
 * datagram connection (UDP) has the same family with `transport: 'dgram'`.
 */
export interface ProxyInetHeader extends ProxyHeaderBase {
  command: 'proxy';
  family: 'tcp4' | 'tcp6';
  source: ProxyInetEndpoint;
  destination: ProxyInetEndpoint;
}

/** A relayed AF_UNIX connection (v2 only). */
export interface ProxyUnixHeader extends ProxyHeaderBase {
  version: 2;
  command: 'proxy';
  family: 'unix';
  source: ProxyUnixEndpoint;
  destination: ProxyUnixEndpoint;
}

/** v1 UNKNOWN or v2 PROXY with AF_UNSPEC: the sender could not say; use the socket's own addresses. */
export interface ProxyUnknownHeader extends ProxyHeaderBase {
  command: 'proxy';
  family: 'unknown';
  source?: undefined;
  destination?: undefined;
}

/**
 * v2 LOCAL: the balancer opened the connection itself (NLB health checks). The spec says to
 * discard the address block and family (proxy-protocol.txt 2.2), so none are reported.
 */
export interface ProxyLocalHeader extends ProxyHeaderBase {
  version: 2;
  command: 'local';
  family: 'unknown';
  source?: undefined;
  destination?: undefined;
}

export type ProxyProtocolHeader = ProxyInetHeader | ProxyUnixHeader | ProxyUnknownHeader | ProxyLocalHeader;

export const PROXY_PROTOCOL_ERROR_CODES = [
  /** Neither the v1 nor the v2 signature: the peer does not speak the PROXY protocol. */
  'not-proxy',
  /** v1: no CRLF within the first 107 bytes. */
  'v1-too-long',
  /** v1: spacing, field count, or a lone CR or LF. */
  'v1-bad-syntax',
  /** v1: the protocol is not TCP4, TCP6 or UNKNOWN. */
  'v1-bad-protocol',
  /** v1: an address is malformed or of the other family. */
  'v1-bad-address',
  /** v1: a port is not a decimal 0-65535 without leading zeros. */
  'v1-bad-port',
  /** v2: the version nibble is not 2. */
  'v2-bad-version',
  /** v2: the command is neither LOCAL nor PROXY. */
  'v2-bad-command',
  /** v2: the family/transport byte is not one of the combinations the spec lists. */
  'v2-bad-family',
  /** v2: the declared length is shorter than the family's address block. */
  'v2-bad-length',
  /** v2: the declared length is above the decoder's cap. */
  'v2-too-long',
  /** v2: a TLV overruns the header, or a known TLV has an impossible length. */
  'v2-bad-tlv',
  /** v2: the CRC32C TLV does not match the header. */
  'v2-bad-crc',
] as const;

export type ProxyProtocolErrorCode = (typeof PROXY_PROTOCOL_ERROR_CODES)[number];

export interface ProxyDecodeNeedMore {
  kind: 'need-more';
}

export interface ProxyDecodeDone {
  kind: 'done';
  header: ProxyProtocolHeader;
  /** Bytes the header occupies; whatever follows belongs to the proxied protocol. */
  length: number;
}

export interface ProxyDecodeError {
  kind: 'error';
  code: ProxyProtocolErrorCode;
  message: string;
}

export type ProxyDecodeResult = ProxyDecodeNeedMore | ProxyDecodeDone | ProxyDecodeError;

export interface ProxyDecodeOptions {
  /**
   * Largest v2 header accepted, in bytes including the 16-byte fixed part. The 16-bit length
   * field allows 65551; real balancers send well under 1 KiB, and HAProxy itself cannot take a
   * header larger than its 16 KiB buffer, so the default is 16384. Bounds what a peer can make
   * the glue buffer before the header completes.
   */
  maxV2Length?: number;
}

/** Registered v2 TLV types (proxy-protocol.txt 2.2) and the AWS one (0xEA, custom range 2.2.8). */
export const PP2_TYPE = {
  ALPN: 0x01,
  AUTHORITY: 0x02,
  CRC32C: 0x03,
  NOOP: 0x04,
  UNIQUE_ID: 0x05,
  SSL: 0x20,
  NETNS: 0x30,
  AWS: 0xea,
} as const;

/** First value byte of an AWS 0xEA TLV naming a VPC endpoint id. */
export const PP2_SUBTYPE_AWS_VPCE_ID = 0x01;

export const PROXY_V1_MAX_LENGTH = 107;
export const PROXY_V2_SIGNATURE: Buffer = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
export const PROXY_V2_DEFAULT_MAX_LENGTH = 16384;

// ---------------------------------------------------------------------------------------------
// Decoder entry point
// ---------------------------------------------------------------------------------------------

const NEED_MORE: ProxyDecodeNeedMore = Object.freeze({ kind: 'need-more' });

const CR = 0x0d;
const LF = 0x0a;
const V1_FIRST_BYTE = 0x50; // 'P'

/**
 * Decodes the PROXY header at the start of `buf`. Returns 'need-more' while `buf` is a strict
 * prefix of a valid header, 'error' as soon as it cannot be one, and 'done' with the number of
 * bytes consumed otherwise. Never throws. Call again with the grown buffer after 'need-more'.
 */
export function decodeProxyHeader(buf: Buffer, options: ProxyDecodeOptions = {}): ProxyDecodeResult {
  if (buf.length === 0) return NEED_MORE;
  // proxy-protocol.txt 2.2 (end): the first byte alone tells v1 ("PROXY") from v2 (\r\n...).
  if (buf[0] === V1_FIRST_BYTE) return decodeV1(buf);
  if (buf[0] === CR) return decodeV2(buf, options.maxV2Length ?? PROXY_V2_DEFAULT_MAX_LENGTH);
  return notProxy();
}

function fail(code: ProxyProtocolErrorCode, message: string): ProxyDecodeError {
  return { kind: 'error', code, message };
}

function notProxy(): ProxyDecodeError {
  return fail('not-proxy', 'The connection does not start with a PROXY protocol v1 or v2 signature');
}

// ---------------------------------------------------------------------------------------------
// Version 1 (proxy-protocol.txt 2.1)
// ---------------------------------------------------------------------------------------------

const V1_SIGNATURE = 'PROXY';
const V1_PROTOCOLS = ['TCP4', 'TCP6', 'UNKNOWN'] as const;

/** Where the v1 line ends, as far as the bytes so far tell. */
type V1LineEnd =
  | { kind: 'crlf'; index: number }
  | { kind: 'pending-cr'; index: number }
  | { kind: 'open'; scanned: number }
  | ProxyDecodeError;

/** A parsed line, a valid prefix of one, or why it is neither. */
type V1LineResult = { kind: 'line'; header: ProxyInetHeader | ProxyUnknownHeader } | ProxyDecodeNeedMore | ProxyDecodeError;

function decodeV1(buf: Buffer): ProxyDecodeResult {
  const end = findV1LineEnd(buf);
  switch (end.kind) {
    case 'error':
      return end;
    case 'crlf': {
      const line = parseV1Line(buf.toString('latin1', 0, end.index), true);
      return line.kind === 'line' ? { kind: 'done', header: line.header, length: end.index + 2 } : line;
    }
    case 'pending-cr': {
      // Only LF may follow, which would complete the line: judge it as complete already.
      const line = parseV1Line(buf.toString('latin1', 0, end.index), true);
      return line.kind === 'line' ? NEED_MORE : line;
    }
    case 'open': {
      const line = parseV1Line(buf.toString('latin1', 0, end.scanned), false);
      if (line.kind === 'error') return line;
      if (buf.length >= PROXY_V1_MAX_LENGTH) {
        return fail('v1-too-long', `PROXY v1 line has no CRLF within its first ${PROXY_V1_MAX_LENGTH} bytes`);
      }
      return NEED_MORE;
    }
  }
}

/**
 * Scans at most 107 bytes for the CRLF. A CR or LF that is not part of a CRLF is an error
 * (2.1: "must not tolerate a single CR or LF character to end the line").
 */
function findV1LineEnd(buf: Buffer): V1LineEnd {
  const scanned = Math.min(buf.length, PROXY_V1_MAX_LENGTH);
  for (let i = 0; i < scanned; i++) {
    const byte = buf[i];
    if (byte === LF) return fail('v1-bad-syntax', 'PROXY v1 line contains an LF that does not follow a CR');
    if (byte !== CR) continue;
    if (i + 2 > PROXY_V1_MAX_LENGTH) {
      return fail('v1-too-long', `PROXY v1 line has no CRLF within its first ${PROXY_V1_MAX_LENGTH} bytes`);
    }
    if (i + 1 >= buf.length) return { kind: 'pending-cr', index: i };
    if (buf[i + 1] !== LF) return fail('v1-bad-syntax', 'PROXY v1 line contains a CR that is not followed by an LF');
    return { kind: 'crlf', index: i };
  }
  return { kind: 'open', scanned };
}

/** Checks `text` (the line without CRLF, or the part received so far when `complete` is false). */
function parseV1Line(text: string, complete: boolean): V1LineResult {
  const signature = text.slice(0, V1_SIGNATURE.length);
  if (!V1_SIGNATURE.startsWith(signature)) return notProxy();
  if (text.length <= V1_SIGNATURE.length) {
    if (!complete) return NEED_MORE;
    return signature.length < V1_SIGNATURE.length ? notProxy() : fail('v1-bad-syntax', 'PROXY v1 line ends after "PROXY"');
  }
  if (text[V1_SIGNATURE.length] !== ' ') return fail('v1-bad-syntax', 'PROXY v1 line needs exactly one space after "PROXY"');

  const [protocol = '', ...fields] = text.slice(V1_SIGNATURE.length + 1).split(' ');
  const protocolComplete = complete || fields.length > 0;
  if (!protocolComplete) {
    return V1_PROTOCOLS.some((name) => name.startsWith(protocol)) ? NEED_MORE : badV1Protocol(protocol);
  }
  if (protocol === '') return fail('v1-bad-syntax', 'PROXY v1 fields must be separated by exactly one space');
  // 2.1: for UNKNOWN the receiver must ignore anything before the CRLF.
  if (protocol === 'UNKNOWN') return complete ? { kind: 'line', header: unknownV1Header() } : NEED_MORE;
  if (protocol !== 'TCP4' && protocol !== 'TCP6') return badV1Protocol(protocol);
  return parseV1InetFields(protocol === 'TCP4' ? 'tcp4' : 'tcp6', fields, complete);
}

function badV1Protocol(protocol: string): ProxyDecodeError {
  return fail('v1-bad-protocol', `PROXY v1 protocol ${JSON.stringify(protocol)} is not TCP4, TCP6 or UNKNOWN`);
}

function unknownV1Header(): ProxyUnknownHeader {
  return { version: 1, command: 'proxy', family: 'unknown', transport: 'unspec', tlvs: [] };
}

/** Source address, destination address, source port, destination port (2.1). */
function parseV1InetFields(family: 'tcp4' | 'tcp6', fields: string[], complete: boolean): V1LineResult {
  if (fields.length > 4) return fail('v1-bad-syntax', 'PROXY v1 line has more than four fields after the protocol');
  if (complete && fields.length < 4) return fail('v1-bad-syntax', 'PROXY v1 line has fewer than four fields after the protocol');
  for (const [index, field] of fields.entries()) {
    const partial = !complete && index === fields.length - 1;
    if (field === '' && !partial) return fail('v1-bad-syntax', 'PROXY v1 fields must be separated by exactly one space');
    const problem = index < 2 ? checkV1Address(family, field, partial) : checkV1Port(field, partial);
    if (problem) return problem;
  }
  if (!complete) return NEED_MORE;
  const [source = '', destination = '', sourcePort = '', destinationPort = ''] = fields;
  const sourceAddress = canonicalV1Address(family, source);
  const destinationAddress = canonicalV1Address(family, destination);
  if (sourceAddress === undefined || destinationAddress === undefined) {
    return fail('v1-bad-address', 'PROXY v1 address could not be decoded');
  }
  return {
    kind: 'line',
    header: {
      version: 1,
      command: 'proxy',
      family,
      transport: 'stream',
      source: { address: sourceAddress, port: Number(sourcePort) },
      destination: { address: destinationAddress, port: Number(destinationPort) },
      tlvs: [],
    },
  };
}

const IPV4_TEXT = /^[0-9.]*$/;
const IPV6_TEXT = /^[0-9A-Fa-f:.]*$/;

/**
 * Strings that complete any valid prefix of an IPv4 or IPv6 address (including IPv6 with a dotted
 * IPv4 tail): a prefix is valid exactly when one of these makes it a full address. Cases: empty
 * ("::", "0.0.0.0"); inside a hex group ("" if enough groups, else "::"); after one colon (":"
 * if fewer than 8 groups would follow, else "0"); after "::" (""); inside a dotted part, by
 * number of dots (".0" x n, or "0" + ".0" x n after a dot). A hex group is never harder to
 * complete than a dotted part, which counts as two groups.
 */
const ADDRESS_COMPLETIONS = ['', '0', ':', '::', '.0', '.0.0', '.0.0.0', '0.0', '0.0.0', '0.0.0.0'];

/**
 * 2.1: IPv4 as four decimal octets without leading zeros; IPv6 as hex groups with at most one
 * "::". Node's isIPv6 also takes a zone id ("%eth0"), which the spec has no room for, so the
 * character set is checked first. A dotted IPv4 tail is accepted in TCP6 because HAProxy's
 * sender writes IPv4-mapped addresses that way (inet_ntop) and its receiver takes them.
 */
function isV1Address(family: 'tcp4' | 'tcp6', text: string): boolean {
  return family === 'tcp4' ? IPV4_TEXT.test(text) && isIPv4(text) : IPV6_TEXT.test(text) && isIPv6(text);
}

function checkV1Address(family: 'tcp4' | 'tcp6', text: string, partial: boolean): ProxyDecodeError | undefined {
  const ok = partial
    ? ADDRESS_COMPLETIONS.some((completion) => isV1Address(family, text + completion))
    : isV1Address(family, text);
  if (ok) return undefined;
  const expected = family === 'tcp4' ? 'an IPv4' : 'an IPv6';
  return fail('v1-bad-address', `PROXY v1 address ${JSON.stringify(text)} is not ${expected} address as ${family.toUpperCase()} requires`);
}

/** IPv6 in the same compressed form as v2 and Node sockets, so addresses compare and hash alike. */
function canonicalV1Address(family: 'tcp4' | 'tcp6', text: string): string | undefined {
  if (family === 'tcp4') return text;
  const words = parseIPv6Words(text);
  return words && formatIPv6Words(words);
}

const PORT_TEXT = /^(?:0|[1-9][0-9]{0,4})$/;

/** 2.1: decimal 0-65535, no leading zeros (no sign, no spaces). Any prefix of a valid port is one. */
function isPort(text: string): boolean {
  return PORT_TEXT.test(text) && Number(text) <= 65535;
}

function checkV1Port(text: string, partial: boolean): ProxyDecodeError | undefined {
  if (isPort(text) || (partial && text === '')) return undefined;
  return fail('v1-bad-port', `PROXY v1 port ${JSON.stringify(text)} is not a decimal 0-65535 without leading zeros`);
}

// ---------------------------------------------------------------------------------------------
// Version 2 (proxy-protocol.txt 2.2)
// ---------------------------------------------------------------------------------------------

const V2_FIXED_LENGTH = 16;
const V2_VERSION = 0x2;
const V2_COMMAND_LOCAL = 0x0;
const V2_COMMAND_PROXY = 0x1;
const TLV_HEADER_LENGTH = 3;
const CRC32C_VALUE_LENGTH = 4;
const UNIQUE_ID_MAX_LENGTH = 128;
const UNIX_PATH_LENGTH = 108;

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

function decodeV2(buf: Buffer, maxLength: number): ProxyDecodeResult {
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

function crc32cOfHeaderWithZeroedField(buf: Buffer, total: number, fieldStart: number): number {
  let state = crc32cUpdate(CRC32C_INITIAL, buf, 0, fieldStart);
  state = crc32cUpdate(state, ZERO_CRC_FIELD, 0, CRC32C_VALUE_LENGTH);
  state = crc32cUpdate(state, buf, fieldStart + CRC32C_VALUE_LENGTH, total);
  return crc32cFinish(state);
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

// ---------------------------------------------------------------------------------------------
// Addresses
// ---------------------------------------------------------------------------------------------

function formatIPv4(bytes: Uint8Array, start: number): string {
  return `${bytes[start] ?? 0}.${bytes[start + 1] ?? 0}.${bytes[start + 2] ?? 0}.${bytes[start + 3] ?? 0}`;
}

function formatIPv6(bytes: Uint8Array, start: number): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push(((bytes[start + 2 * i] ?? 0) << 8) | (bytes[start + 2 * i + 1] ?? 0));
  return formatIPv6Words(words);
}

/**
 * The text libuv's inet_ntop (hence Node's socket.remoteAddress) gives: the longest run of two or
 * more zero groups (the first on a tie) becomes "::", lower-case hex, and IPv4-compatible
 * (::a.b.c.d) or IPv4-mapped (::ffff:a.b.c.d) addresses end in dotted form.
 */
function formatIPv6Words(words: readonly number[]): string {
  const run = longestZeroRun(words);
  const dottedTail = run.start === 0 && (run.length === 6 || (run.length === 5 && words[5] === 0xffff));
  let text = '';
  for (let i = 0; i < 8; i++) {
    if (run.length >= 2 && i >= run.start && i < run.start + run.length) {
      if (i === run.start) text += ':';
      continue;
    }
    if (i !== 0) text += ':';
    if (i === 6 && dottedTail) {
      const high = words[6] ?? 0;
      const low = words[7] ?? 0;
      return `${text}${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
    }
    text += (words[i] ?? 0).toString(16);
  }
  if (run.length >= 2 && run.start + run.length === 8) text += ':';
  return text;
}

function longestZeroRun(words: readonly number[]): { start: number; length: number } {
  let best = { start: -1, length: 0 };
  let start = -1;
  for (let i = 0; i <= 8; i++) {
    if (i < 8 && words[i] === 0) {
      if (start === -1) start = i;
      continue;
    }
    if (start !== -1 && i - start > best.length) best = { start, length: i - start };
    start = -1;
  }
  return best;
}

/** Eight 16-bit groups of a textual IPv6 address (hex groups, one "::", optional dotted tail). */
function parseIPv6Words(text: string): number[] | undefined {
  if (!IPV6_TEXT.test(text) || !isIPv6(text)) return undefined;
  const halves = text.split('::');
  const head = groupsOf(halves[0] ?? '');
  const tail = halves.length === 2 ? groupsOf(halves[1] ?? '') : [];
  if (halves.length > 2 || !head || !tail) return undefined;
  if (halves.length === 1) return head.length === 8 ? head : undefined;
  const missing = 8 - head.length - tail.length;
  if (missing < 1) return undefined;
  return [...head, ...new Array<number>(missing).fill(0), ...tail];
}

function groupsOf(part: string): number[] | undefined {
  if (part === '') return [];
  const words: number[] = [];
  for (const group of part.split(':')) {
    if (group.includes('.')) {
      if (!isIPv4(group)) return undefined;
      const [a = 0, b = 0, c = 0, d = 0] = group.split('.').map(Number);
      words.push((a << 8) | b, (c << 8) | d);
    } else {
      words.push(parseInt(group, 16));
    }
  }
  return words;
}

// ---------------------------------------------------------------------------------------------
// CRC32C (RFC 4960 appendix B; Castagnoli polynomial, reflected 0x82F63B78)
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Encoders (send-proxy to backends; tests that play a load balancer)
// ---------------------------------------------------------------------------------------------

export type ProxyV1EncodeInput =
  | { family: 'tcp4' | 'tcp6'; source: ProxyInetEndpoint; destination: ProxyInetEndpoint }
  | { family: 'unknown' };

/**
 * One v1 line (2.1). IPv6 addresses are written in compressed form, which also keeps the line
 * within 107 bytes. Throws RangeError on an address of the wrong family or an invalid port.
 */
export function encodeProxyHeaderV1(input: ProxyV1EncodeInput): Buffer {
  if (input.family === 'unknown') return Buffer.from('PROXY UNKNOWN\r\n', 'latin1');
  const source = encodeV1Address(input.family, input.source.address);
  const destination = encodeV1Address(input.family, input.destination.address);
  const sourcePort = encodePort(input.source.port);
  const destinationPort = encodePort(input.destination.port);
  const protocol = input.family === 'tcp4' ? 'TCP4' : 'TCP6';
  return Buffer.from(`PROXY ${protocol} ${source} ${destination} ${sourcePort} ${destinationPort}\r\n`, 'latin1');
}

function encodeV1Address(family: 'tcp4' | 'tcp6', address: string): string {
  const text = isV1Address(family, address) ? canonicalV1Address(family, address) : undefined;
  if (text === undefined) throw new RangeError(`${JSON.stringify(address)} is not a valid ${family} address`);
  return text;
}

function encodePort(port: number): number {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`${port} is not a valid port`);
  return port;
}

interface ProxyV2EncodeCommon {
  /** Written in order after the addresses. */
  tlvs?: readonly ProxyTlv[];
  /** Append a CRC32C TLV (2.2.3) computed over the finished header. */
  crc32c?: boolean;
}

export type ProxyV2EncodeInput = ProxyV2EncodeCommon &
  (
    | { command: 'local' }
    | {
        command?: 'proxy';
        family: 'tcp4' | 'tcp6';
        transport?: 'stream' | 'dgram';
        source: ProxyInetEndpoint;
        destination: ProxyInetEndpoint;
      }
    | {
        command?: 'proxy';
        family: 'unix';
        transport?: 'stream' | 'dgram';
        source: ProxyUnixEndpoint;
        destination: ProxyUnixEndpoint;
      }
    | { command?: 'proxy'; family: 'unknown' }
  );

/**
 * One binary v2 header (2.2). LOCAL is sent as family UNSPEC with no addresses, as the spec asks
 * and NLB health checks do. Throws RangeError on invalid addresses, ports, TLVs or sizes.
 */
export function encodeProxyHeaderV2(input: ProxyV2EncodeInput): Buffer {
  const { familyByte, addresses } = encodeV2Addresses(input);
  const tlvs = [...(input.tlvs ?? [])];
  if (input.crc32c) tlvs.push({ type: PP2_TYPE.CRC32C, value: Buffer.alloc(CRC32C_VALUE_LENGTH) });
  const tlvBytes = tlvs.map(encodeTlv);
  const blockLength = addresses.length + tlvBytes.reduce((sum, tlv) => sum + tlv.length, 0);
  if (blockLength > 0xffff) throw new RangeError(`PROXY v2 address and TLV block of ${blockLength} bytes exceeds 65535`);

  const fixed = Buffer.alloc(V2_FIXED_LENGTH);
  PROXY_V2_SIGNATURE.copy(fixed, 0);
  fixed[12] = (V2_VERSION << 4) | (input.command === 'local' ? V2_COMMAND_LOCAL : V2_COMMAND_PROXY);
  fixed[13] = familyByte;
  fixed.writeUInt16BE(blockLength, 14);
  const header = Buffer.concat([fixed, addresses, ...tlvBytes]);

  if (input.crc32c) {
    // The CRC TLV is last, and its value was written as zeros, as 2.2.3 asks the sender to do.
    const fieldStart = header.length - CRC32C_VALUE_LENGTH;
    header.writeUInt32BE(crc32c(header), fieldStart);
  }
  return header;
}

function encodeV2Addresses(input: ProxyV2EncodeInput): { familyByte: number; addresses: Buffer } {
  if (input.command === 'local' || input.family === 'unknown') return { familyByte: 0x00, addresses: Buffer.alloc(0) };
  const transportNibble = input.transport === 'dgram' ? 0x2 : 0x1;
  switch (input.family) {
    case 'tcp4': {
      const addresses = Buffer.alloc(12);
      writeIPv4(addresses, 0, input.source.address);
      writeIPv4(addresses, 4, input.destination.address);
      addresses.writeUInt16BE(encodePort(input.source.port), 8);
      addresses.writeUInt16BE(encodePort(input.destination.port), 10);
      return { familyByte: 0x10 | transportNibble, addresses };
    }
    case 'tcp6': {
      const addresses = Buffer.alloc(36);
      writeIPv6(addresses, 0, input.source.address);
      writeIPv6(addresses, 16, input.destination.address);
      addresses.writeUInt16BE(encodePort(input.source.port), 32);
      addresses.writeUInt16BE(encodePort(input.destination.port), 34);
      return { familyByte: 0x20 | transportNibble, addresses };
    }
    case 'unix': {
      const addresses = Buffer.alloc(2 * UNIX_PATH_LENGTH);
      writeUnixPath(addresses, 0, input.source.path);
      writeUnixPath(addresses, UNIX_PATH_LENGTH, input.destination.path);
      return { familyByte: 0x30 | transportNibble, addresses };
    }
  }
}

function writeIPv4(target: Buffer, offset: number, address: string): void {
  if (!isV1Address('tcp4', address)) throw new RangeError(`${JSON.stringify(address)} is not a valid IPv4 address`);
  address.split('.').forEach((octet, index) => {
    target[offset + index] = Number(octet);
  });
}

function writeIPv6(target: Buffer, offset: number, address: string): void {
  const words = parseIPv6Words(address);
  if (!words) throw new RangeError(`${JSON.stringify(address)} is not a valid IPv6 address`);
  words.forEach((word, index) => target.writeUInt16BE(word, offset + 2 * index));
}

function writeUnixPath(target: Buffer, offset: number, path: string): void {
  const bytes = Buffer.from(path, 'utf8');
  if (bytes.length > UNIX_PATH_LENGTH) throw new RangeError(`Unix socket path of ${bytes.length} bytes exceeds 108`);
  bytes.copy(target, offset);
}

function encodeTlv(tlv: ProxyTlv): Buffer {
  if (!Number.isInteger(tlv.type) || tlv.type < 0 || tlv.type > 0xff) throw new RangeError(`TLV type ${tlv.type} is not a byte`);
  if (tlv.value.length > 0xffff) throw new RangeError(`TLV value of ${tlv.value.length} bytes exceeds 65535`);
  const head = Buffer.alloc(TLV_HEADER_LENGTH);
  head[0] = tlv.type;
  head.writeUInt16BE(tlv.value.length, 1);
  return Buffer.concat([head, tlv.value]);
}

/** The AWS 0xEA TLV naming a VPC endpoint, as an NLB sends it for PrivateLink traffic. */
export function awsVpceTlv(vpceId: string): ProxyTlv {
  return { type: PP2_TYPE.AWS, value: Buffer.concat([Buffer.from([PP2_SUBTYPE_AWS_VPCE_ID]), Buffer.from(vpceId, 'latin1')]) };
}

function hex2(value: number): string {
  return value.toString(16).padStart(2, '0');
}

function hex8(value: number): string {
  return value.toString(16).padStart(8, '0');
}
