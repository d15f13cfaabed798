import { attributionOnReplay } from './replay-attribution.policy';

describe('attributionOnReplay', () => {
  const registry = (facility: string) => (facility === 'NVMC' ? 'north-valley' : undefined);
  const row = { channel: 'mllp', institutionId: 'donghai', sendingFacility: 'NVMC' };

  it('looks MSH-4 up again when only MSH-4 named the sender', () => {
    for (const senderAuthentication of [null, 'none', 'loopback'])
      expect(attributionOnReplay({ ...row, senderAuthentication }, registry)).toBe('north-valley');
  });

  it('never moves a message whose connection proved its institution', () => {
    for (const senderAuthentication of ['tls-client-certificate', 'ip-allow-list', 'access-token'])
      expect(attributionOnReplay({ ...row, senderAuthentication }, registry)).toBe('donghai');
    expect(attributionOnReplay({ ...row, channel: 'http', senderAuthentication: 'none' }, registry)).toBe(
      'donghai',
    );
  });

  it('keeps the stored attribution when the facility is no longer registered', () => {
    expect(
      attributionOnReplay({ ...row, sendingFacility: 'GONE', senderAuthentication: 'none' }, registry),
    ).toBe('donghai');
  });
});
