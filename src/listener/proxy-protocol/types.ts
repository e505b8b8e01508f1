/**
 * PROXY protocol versions 1 and 2 (haproxy doc/proxy-protocol.txt): the public types of the
 * decoder and encoders, the error codes, and the constants of the wire format.
 */

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
