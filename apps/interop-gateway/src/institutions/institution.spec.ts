import { institutionSchema, isExchangeIdentifierSystem } from './institution';

function registration(system: string) {
  return {
    id: 'st-aurelia',
    name: 'St. Aurelia (synthetic)',
    sendingFacilities: ['STAURELIA'],
    assigningAuthorities: [{ namespace: 'STA', system, default: true }],
    feed: {},
  };
}

describe('institutionSchema: identifier systems of the exchange are reserved', () => {
  it.each(['urn:tessera:enterprise-id', 'urn:tessera:aa:other-hospital:LEGACY', 'urn:tessera:institution'])(
    'refuses %s as an assigning authority, naming the path',
    (system) => {
      const result = institutionSchema.safeParse(registration(system));
      expect(result.success).toBe(false);
      if (result.success) return;
      const issue = result.error.issues.find((i) => i.path.join('.') === 'assigningAuthorities.0.system');
      expect(issue?.message).toMatch(/reserved for the exchange/);
    },
  );

  it('refuses an upper-case spelling too (not a registrable URN at all)', () => {
    expect(institutionSchema.safeParse(registration('URN:Tessera:enterprise-id')).success).toBe(false);
  });

  it('accepts an institution system outside the reserved namespace', () => {
    expect(institutionSchema.safeParse(registration('urn:oid:2.16.840.1.113883.3.9999.1.1')).success).toBe(
      true,
    );
    expect(institutionSchema.safeParse(registration('https://hospital.example/mrn')).success).toBe(true);
    expect(institutionSchema.safeParse(registration('urn:tesserae:mrn')).success).toBe(true);
  });

  it('recognises the reserved namespace whatever the case of the URN scheme and namespace id', () => {
    expect(isExchangeIdentifierSystem('urn:tessera:enterprise-id')).toBe(true);
    expect(isExchangeIdentifierSystem('URN:TESSERA:ENTERPRISE-ID')).toBe(true);
    expect(isExchangeIdentifierSystem('urn:oid:1.2.3')).toBe(false);
    expect(isExchangeIdentifierSystem('https://tessera.example/urn:tessera:x')).toBe(false);
  });
});
