import net from 'node:net';

/**
 * Source-address rules of an institution's own MLLP port (`feed.allowedAddresses`): single
 * addresses or CIDR blocks, IPv4 or IPv6. Pure: no sockets.
 */

interface AddressRule {
  readonly network: string;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
}

function parseAddressRule(text: string): AddressRule | undefined {
  const [address = '', prefixText, ...rest] = text.trim().split('/');
  if (rest.length > 0) return undefined;
  const version = net.isIP(address);
  if (version === 0) return undefined;
  const family = version === 4 ? 'ipv4' : 'ipv6';
  const max = version === 4 ? 32 : 128;
  if (prefixText === undefined) return { network: address, prefix: max, family };
  if (!/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  return prefix <= max ? { network: address, prefix, family } : undefined;
}

/** Whether `text` is an IPv4/IPv6 address or CIDR block (e.g. `10.20.0.0/16`, `2001:db8::/32`). */
export function isAddressRule(text: string): boolean {
  return parseAddressRule(text) !== undefined;
}

/** A socket's remote address as a plain address: IPv4-mapped IPv6 (`::ffff:10.0.0.1`) becomes IPv4. */
export function plainAddress(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return mapped?.[1] ?? address;
}

/** Whether `address` (a peer's) matches one of `rules`. An unreadable address matches nothing. */
export function addressAllowed(address: string, rules: readonly string[]): boolean {
  const peer = plainAddress(address);
  const version = net.isIP(peer);
  if (version === 0) return false;
  const list = new net.BlockList();
  for (const text of rules) {
    const rule = parseAddressRule(text);
    if (rule !== undefined) list.addSubnet(rule.network, rule.prefix, rule.family);
  }
  return list.check(peer, version === 4 ? 'ipv4' : 'ipv6');
}

/**
 * Whether a listener bound to `host` can be reached only from this machine: 127.0.0.0/8, ::1 or
 * `localhost`. The wildcard addresses (0.0.0.0, ::) and any other name are not loopback.
 */
export function isLoopbackHost(host: string): boolean {
  const bare = host
    .trim()
    .replace(/^\[(.*)\]$/, '$1')
    .toLowerCase();
  if (bare === 'localhost') return true;
  const plain = plainAddress(bare);
  if (net.isIPv4(plain)) return plain.startsWith('127.');
  return net.isIPv6(plain) && addressAllowed(plain, ['::1/128']);
}
