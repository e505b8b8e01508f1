import { BlockList, isIPv4, isIPv6 } from 'node:net';

/**
 * The peers whose PROXY headers and X-Forwarded-* / Forwarded headers wsgate
 * believes (`--trusted-proxies`). Node's BlockList does the CIDR matching; it
 * also matches IPv4-mapped IPv6 peers ("::ffff:10.0.0.1") against IPv4 ranges.
 */
export class TrustedProxies {
  private readonly list = new BlockList();
  readonly size: number;

  constructor(readonly cidrs: readonly string[]) {
    for (const cidr of cidrs) {
      const parsed = parseCidr(cidr);
      if (parsed === undefined) throw new RangeError(`"${cidr}" is not an address or CIDR range`);
      this.list.addSubnet(parsed.address, parsed.prefix, parsed.family);
    }
    this.size = cidrs.length;
  }

  has(address: string | undefined): boolean {
    if (this.size === 0 || address === undefined || address === '') return false;
    if (isIPv4(address)) return this.list.check(address, 'ipv4');
    if (isIPv6(address)) return this.list.check(address, 'ipv6');
    return false;
  }
}

export function parseCidr(text: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const [address = '', prefixText] = text.trim().split('/');
  const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
  if (family === undefined) return undefined;
  const max = family === 'ipv4' ? 32 : 128;
  if (prefixText === undefined) return { address, prefix: max, family };
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) return undefined;
  return { address, prefix: Number(prefixText), family };
}
