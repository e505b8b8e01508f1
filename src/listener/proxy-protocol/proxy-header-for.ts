/** The PROXY protocol header wsgate sends first on a backend connection (HAProxy's send-proxy / send-proxy-v2). */
import { plainAddress } from '../plain-address.js';
import { isV1Address } from './decode-v1.js';
import { encodeProxyHeaderV1, encodeProxyHeaderV2 } from './encode.js';
import { parseIPv6Words } from './ipv6-text.js';
import type { ProxyInetEndpoint } from './types.js';

/** One end of the client's connection, as far as wsgate knows it. */
export interface ProxyHeaderEndpoint {
  readonly address: string | undefined;
  readonly port: number | undefined;
}

/**
 * A PROXY protocol header naming the real client and the address it reached (send-proxy to backends).
 *
 * `client`: the client's address and port (the socket peer, or what a trusted balancer's PROXY header
 * said), already plain. `local`: where its connection arrived, as Node reports it (socket.localAddress
 * and socket.localPort); an IPv4-mapped local address is written as IPv4. A missing port is written as 0.
 *
 * Never throws. When an address cannot be written (empty, undefined, not an IP address, an IPv6
 * zone id) or a port is not 0-65535, the header says the sender does not know the addresses, as
 * HAProxy's make_proxy_line does: v1 "PROXY UNKNOWN\r\n" (proxy-protocol.txt 2.1), v2 the LOCAL
 * command with family AF_UNSPEC and no address block (2.2). A receiver must accept LOCAL and use the
 * connection's own endpoints, while it may refuse PROXY with AF_UNSPEC; either way the backend
 * learns no client address, and the connection is not refused for it.
 */
export function proxyHeaderFor(version: 'v1' | 'v2', client: ProxyHeaderEndpoint, local: ProxyHeaderEndpoint): Buffer {
  const clientAddress = client.address ?? '';
  const family = clientAddress.includes(':') ? 'tcp6' : 'tcp4';
  const source = { address: clientAddress, port: client.port ?? 0 };
  const reached = plainAddress(local.address);
  let localAddress = reached;
  // The two addresses of one header share a family (proxy-protocol.txt 2.1). Only a valid address
  // is converted, so that text which is no address at all ends in UNKNOWN below.
  if (family === 'tcp6' && isV1Address('tcp4', reached)) localAddress = `::ffff:${reached}`;
  if (family === 'tcp4' && isV1Address('tcp6', reached)) localAddress = '0.0.0.0';
  const destination = { address: localAddress, port: local.port ?? 0 };
  if (!canEncode(family, source) || !canEncode(family, destination)) {
    return version === 'v1' ? encodeProxyHeaderV1({ family: 'unknown' }) : encodeProxyHeaderV2({ command: 'local' });
  }
  return version === 'v1'
    ? encodeProxyHeaderV1({ family, source, destination })
    : encodeProxyHeaderV2({ command: 'proxy', family, source, destination });
}

/**
 * What the encoders accept for a TCP4 or TCP6 endpoint, so that they are never given what would
 * make them throw RangeError: an IPv4 address as isV1Address has it (encodeV1Address, writeIPv4),
 * an IPv6 address parseIPv6Words can read (canonicalV1Address, writeIPv6), an integer port 0-65535
 * (encodePort).
 */
function canEncode(family: 'tcp4' | 'tcp6', endpoint: ProxyInetEndpoint): boolean {
  const address = family === 'tcp4' ? isV1Address('tcp4', endpoint.address) : parseIPv6Words(endpoint.address) !== undefined;
  return address && Number.isInteger(endpoint.port) && endpoint.port >= 0 && endpoint.port <= 65535;
}
