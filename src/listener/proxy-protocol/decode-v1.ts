/** Version 1 (proxy-protocol.txt 2.1): the human-readable line. */
import { isIPv4, isIPv6 } from 'node:net';
import { NEED_MORE, fail, notProxy } from './decode-result.js';
import { IPV6_TEXT, formatIPv6Words, parseIPv6Words } from './ipv6-text.js';
import {
  PROXY_V1_MAX_LENGTH,
  type ProxyDecodeError,
  type ProxyDecodeNeedMore,
  type ProxyDecodeResult,
  type ProxyInetHeader,
  type ProxyUnknownHeader,
} from './types.js';

const CR = 0x0d;
const LF = 0x0a;

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

/** decodeProxyHeader for a buffer that starts with "P". */
export function decodeV1(buf: Buffer): ProxyDecodeResult {
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
export function isV1Address(family: 'tcp4' | 'tcp6', text: string): boolean {
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
export function canonicalV1Address(family: 'tcp4' | 'tcp6', text: string): string | undefined {
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
