import { grantScopes, parseScopeRequirement, scopeCovers, splitScopes } from './scope';

describe('scopeCovers (SMART v1 and v2 system scopes)', () => {
  it('v1 read covers read and search but not write', () => {
    const granted = ['system/DocumentReference.read'];
    expect(scopeCovers(granted, 'DocumentReference', 'read')).toBe(true);
    expect(scopeCovers(granted, 'DocumentReference', 'search')).toBe(true);
    expect(scopeCovers(granted, 'DocumentReference', 'write')).toBe(false);
    expect(scopeCovers(granted, 'Patient', 'read')).toBe(false);
  });

  it('v1 write covers only write; v1 * covers everything on the type', () => {
    expect(scopeCovers(['system/Consent.write'], 'Consent', 'write')).toBe(true);
    expect(scopeCovers(['system/Consent.write'], 'Consent', 'read')).toBe(false);
    for (const i of ['read', 'search', 'write'] as const)
      expect(scopeCovers(['system/Consent.*'], 'Consent', i)).toBe(true);
  });

  it('v2 permissions: r read, s search, c/u write', () => {
    expect(scopeCovers(['system/Patient.rs'], 'Patient', 'read')).toBe(true);
    expect(scopeCovers(['system/Patient.rs'], 'Patient', 'search')).toBe(true);
    expect(scopeCovers(['system/Patient.rs'], 'Patient', 'write')).toBe(false);
    expect(scopeCovers(['system/Patient.r'], 'Patient', 'search')).toBe(false);
    expect(scopeCovers(['system/Patient.s'], 'Patient', 'read')).toBe(false);
    expect(scopeCovers(['system/Patient.cruds'], 'Patient', 'write')).toBe(true);
    expect(scopeCovers(['system/Patient.c'], 'Patient', 'write')).toBe(true);
    expect(scopeCovers(['system/Patient.d'], 'Patient', 'write')).toBe(false);
  });

  it('`*` as resource type covers every type', () => {
    expect(scopeCovers(['system/*.read'], 'Binary', 'read')).toBe(true);
    expect(scopeCovers(['system/*.rs'], 'DocumentReference', 'search')).toBe(true);
    expect(scopeCovers(['system/*.rs'], 'DocumentReference', 'write')).toBe(false);
  });

  it('fails closed on anything it does not understand', () => {
    for (const scope of [
      'patient/DocumentReference.read', // not a system scope
      'user/*.read',
      'system/DocumentReference.sr', // v2 letters out of order
      'system/DocumentReference.rx',
      'system/DocumentReference.', // empty permission
      'system/Observation.rs?category=laboratory', // granular: a subset only
      'system/documentreference.read', // not a resource type
      'system/DocumentReference.read extra',
      '*',
      'openid',
    ]) {
      expect(
        scopeCovers([scope], 'DocumentReference', 'read') || scopeCovers([scope], 'Observation', 'read'),
      ).toBe(false);
    }
    expect(scopeCovers([], 'Patient', 'read')).toBe(false);
  });

  it('any one of several granted scopes suffices', () => {
    expect(scopeCovers(['system/Patient.read', 'system/Binary.read'], 'Binary', 'read')).toBe(true);
  });
});

describe('parseScopeRequirement', () => {
  it('reads the decorator string forms', () => {
    expect(parseScopeRequirement('system/DocumentReference.read')).toEqual({
      resourceType: 'DocumentReference',
      interaction: 'read',
    });
    expect(parseScopeRequirement('Patient.search')).toEqual({
      resourceType: 'Patient',
      interaction: 'search',
    });
    expect(parseScopeRequirement('system/Consent.write')).toEqual({
      resourceType: 'Consent',
      interaction: 'write',
    });
  });

  it('throws on typos so a route cannot open by accident', () => {
    expect(() => parseScopeRequirement('system/DocumentReference.rs')).toThrow(/Invalid scope requirement/);
    expect(() => parseScopeRequirement('DocumentReference')).toThrow();
    expect(() => parseScopeRequirement('patient/Patient.read')).toThrow();
  });
});

describe('splitScopes', () => {
  it('splits on spaces, drops empties and duplicates', () => {
    expect(splitScopes(' system/A.read  system/B.rs system/A.read ')).toEqual([
      'system/A.read',
      'system/B.rs',
    ]);
    expect(splitScopes(undefined)).toEqual([]);
  });
});

describe('grantScopes (requested ∩ allowed)', () => {
  it('grants requested scopes the registration covers entirely', () => {
    const allowed = ['system/DocumentReference.read', 'system/Patient.rs', 'system/Binary.read'];
    expect(grantScopes(['system/DocumentReference.read', 'system/Observation.read'], allowed)).toEqual([
      'system/DocumentReference.read',
    ]);
    expect(grantScopes(['system/Patient.read', 'system/Patient.r', 'system/Patient.cruds'], allowed)).toEqual(
      ['system/Patient.read', 'system/Patient.r'],
    );
    expect(grantScopes(['system/DocumentReference.rs'], allowed)).toEqual(['system/DocumentReference.rs']);
  });

  it('a wildcard is granted only under a wildcard', () => {
    expect(grantScopes(['system/*.read'], ['system/Patient.read'])).toEqual([]);
    expect(grantScopes(['system/Patient.read', 'system/*.rs'], ['system/*.read'])).toEqual([
      'system/Patient.read',
      'system/*.rs',
    ]);
  });

  it('unknown scopes only on an exact match', () => {
    expect(grantScopes(['launch', 'openid'], ['openid'])).toEqual(['openid']);
    expect(grantScopes(['system/Observation.rs?category=laboratory'], ['system/Observation.rs'])).toEqual([]);
  });
});
