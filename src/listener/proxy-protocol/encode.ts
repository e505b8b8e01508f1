/** Encoders (send-proxy to backends; tests that play a load balancer). */
import { CRC32C_VALUE_LENGTH, crc32c } from './crc32c.js';
import { canonicalV1Address, isV1Address } from './decode-v1.js';
import { TLV_HEADER_LENGTH, UNIX_PATH_LENGTH, V2_COMMAND_LOCAL, V2_COMMAND_PROXY, V2_FIXED_LENGTH, V2_VERSION } from './decode-v2.js';
import { parseIPv6Words } from './ipv6-text.js';
import {
  PP2_SUBTYPE_AWS_VPCE_ID,
  PP2_TYPE,
  PROXY_V2_SIGNATURE,
  type ProxyInetEndpoint,
  type ProxyTlv,
  type ProxyUnixEndpoint,
} from './types.js';

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
