import type { MappedIdentity } from './mapped-identity.policy';
import { correctionOf, isProvisionalSystem, mappedIdentityFromJson } from './mapped-identity.policy';

const provisional: MappedIdentity = {
  institutionId: 'st-aurelia',
  patient: { system: 'urn:tessera:aa:st-aurelia:STA-NEW', localId: 'M1' },
  items: [
    { resourceType: 'Encounter', id: 'enc-1' },
    { resourceType: 'DocumentReference', id: 'doc-old' },
  ],
  warnings: ['UNKNOWN_ASSIGNING_AUTHORITY'],
  mapperVersion: '1.0.0',
};

describe('correctionOf', () => {
  it('retires the prior source record when the replay maps the message to another one', () => {
    const next: MappedIdentity = {
      ...provisional,
      patient: { system: 'urn:oid:1.2.3', localId: 'M1' },
      warnings: [],
    };
    expect(correctionOf(provisional, next)).toEqual({
      prior: { institutionId: 'st-aurelia', system: 'urn:tessera:aa:st-aurelia:STA-NEW', localId: 'M1' },
      withdrawn: [],
    });
  });

  it('treats another institution as another source record and withdraws the items it no longer produces', () => {
    const next: MappedIdentity = {
      ...provisional,
      institutionId: 'north-valley',
      items: [{ resourceType: 'Encounter', id: 'enc-2' }],
    };
    const correction = correctionOf(provisional, next);
    expect(correction.prior?.institutionId).toBe('st-aurelia');
    expect(correction.withdrawn).toEqual(provisional.items);
  });

  it('withdraws only the items whose id a new mapper version changed', () => {
    const next: MappedIdentity = {
      ...provisional,
      items: [
        { resourceType: 'Encounter', id: 'enc-1' },
        { resourceType: 'DocumentReference', id: 'doc-new' },
      ],
      mapperVersion: '1.1.0',
    };
    expect(correctionOf(provisional, next)).toEqual({
      prior: null,
      withdrawn: [{ resourceType: 'DocumentReference', id: 'doc-old' }],
    });
  });

  it('corrects nothing when the replay fails or the message was never mapped', () => {
    expect(correctionOf(provisional, null)).toEqual({ prior: null, withdrawn: [] });
    expect(correctionOf(null, provisional)).toEqual({ prior: null, withdrawn: [] });
  });
});

describe('mapped identity storage', () => {
  it('reads back what it stored and refuses anything else', () => {
    expect(mappedIdentityFromJson(JSON.parse(JSON.stringify(provisional)))).toEqual(provisional);
    expect(mappedIdentityFromJson(null)).toBeNull();
    expect(mappedIdentityFromJson({ institutionId: 'x' })).toBeNull();
  });

  it('recognises the systems the mapper invents for unregistered authorities', () => {
    expect(isProvisionalSystem(provisional.patient.system)).toBe(true);
    expect(isProvisionalSystem('urn:oid:1.2.3')).toBe(false);
  });
});
