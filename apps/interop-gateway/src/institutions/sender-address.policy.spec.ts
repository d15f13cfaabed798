import { addressAllowed, isAddressRule, isLoopbackHost, plainAddress } from './sender-address.policy';

describe('allow-list rules', () => {
  it('reads IPv4 and IPv6 addresses and CIDR blocks, and nothing else', () => {
    for (const ok of ['10.1.2.3', '10.1.0.0/16', '0.0.0.0/0', '2001:db8::1', '2001:db8::/32', '::1/128'])
      expect({ ok, valid: isAddressRule(ok) }).toEqual({ ok, valid: true });
    for (const bad of [
      '',
      'riverside.example',
      '10.1.2.3/33',
      '2001:db8::/129',
      '10.1.2.3/8/1',
      '10.1.2/24',
      '10.1.2.3/x',
    ])
      expect({ bad, valid: isAddressRule(bad) }).toEqual({ bad, valid: false });
  });

  it('matches a peer against addresses and blocks of its family, IPv4-mapped IPv6 as IPv4', () => {
    const rules = ['127.0.0.2', '10.20.0.0/16', '2001:db8:1::/48'];
    expect(addressAllowed('127.0.0.2', rules)).toBe(true);
    expect(addressAllowed('127.0.0.3', rules)).toBe(false);
    expect(addressAllowed('10.20.255.1', rules)).toBe(true);
    expect(addressAllowed('10.21.0.1', rules)).toBe(false);
    expect(addressAllowed('::ffff:10.20.3.4', rules)).toBe(true);
    expect(addressAllowed('2001:db8:1:ffff::9', rules)).toBe(true);
    expect(addressAllowed('2001:db8:2::9', rules)).toBe(false);
    expect(addressAllowed('', rules)).toBe(false);
    expect(addressAllowed('127.0.0.2', [])).toBe(false);
    expect(plainAddress('::ffff:127.0.0.1')).toBe('127.0.0.1');
  });

  it('knows a loopback bind host from a reachable one', () => {
    for (const host of ['127.0.0.1', '127.0.0.53', 'localhost', '::1', '[::1]'])
      expect({ host, loopback: isLoopbackHost(host) }).toEqual({ host, loopback: true });
    for (const host of ['0.0.0.0', '::', '10.0.0.5', 'gateway.example', '128.0.0.1'])
      expect({ host, loopback: isLoopbackHost(host) }).toEqual({ host, loopback: false });
  });
});
