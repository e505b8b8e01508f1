/** "::ffff:1.2.3.4" is how Node reports IPv4 peers on a dual-stack socket; backends expect "1.2.3.4". */
export function plainAddress(address: string | undefined): string {
  if (address === undefined) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
