import {
  exampleScope,
  grantScopes,
  parseScopeRequirement,
  parseSmartScope,
  scopeCovers,
  splitScopes,
} from './scope';

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

  it('v2 permissions: r read, s search, c create, u update, d delete; write = create or update', () => {
    expect(scopeCovers(['system/Patient.rs'], 'Patient', 'read')).toBe(true);
    expect(scopeCovers(['system/Patient.rs'], 'Patient', 'search')).toBe(true);
    expect(scopeCovers(['system/Patient.rs'], 'Patient', 'write')).toBe(false);
    expect(scopeCovers(['system/Patient.r'], 'Patient', 'search')).toBe(false);
    expect(scopeCovers(['system/Patient.s'], 'Patient', 'read')).toBe(false);
    expect(scopeCovers(['system/Patient.cruds'], 'Patient', 'write')).toBe(true);
    expect(scopeCovers(['system/Patient.c'], 'Patient', 'write')).toBe(true);
    expect(scopeCovers(['system/Patient.d'], 'Patient', 'write')).toBe(false);
    // exact sets: a create permission is not an update permission and vice versa
    expect(scopeCovers(['system/Consent.c'], 'Consent', 'create')).toBe(true);
    expect(scopeCovers(['system/Consent.c'], 'Consent', 'update')).toBe(false);
    expect(scopeCovers(['system/Consent.u'], 'Consent', 'create')).toBe(false);
    expect(scopeCovers(['system/Consent.cu'], 'Consent', 'delete')).toBe(false);
    expect(scopeCovers(['system/Consent.d'], 'Consent', 'delete')).toBe(true);
  });

  it('v1 scopes mean their v2 sets: read = rs, write = cud, * = cruds', () => {
    const perms = (scope: string) => [...(parseSmartScope(scope)?.permissions ?? [])].join('');
    expect(perms('system/Consent.read')).toBe('rs');
    expect(perms('system/Consent.write')).toBe('cud');
    expect(perms('system/Consent.*')).toBe('cruds');
    expect(perms('system/Consent.cu')).toBe('cu');
    expect(parseSmartScope('system/Consent.write')?.syntax).toBe('v1');
    expect(parseSmartScope('system/Consent.cu')?.syntax).toBe('v2');
    expect(scopeCovers(['system/Consent.write'], 'Consent', 'create')).toBe(true);
    expect(scopeCovers(['system/Consent.write'], 'Consent', 'update')).toBe(true);
    expect(scopeCovers(['system/Consent.write'], 'Consent', 'search')).toBe(false);
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
    expect(parseScopeRequirement('system/Consent.create')).toEqual({
      resourceType: 'Consent',
      interaction: 'create',
    });
    expect(exampleScope({ resourceType: 'Consent', interaction: 'update' })).toBe('system/Consent.u');
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

describe('grantScopes (requested ∩ registered, never wider)', () => {
  const NO_DELETE = { grantable: ['c', 'r', 'u', 's'] as const };

  it('grants v1 scopes the registration covers entirely, as asked', () => {
    const allowed = ['system/DocumentReference.read', 'system/Patient.rs', 'system/Binary.read'];
    expect(grantScopes(['system/DocumentReference.read', 'system/Observation.read'], allowed)).toEqual([
      'system/DocumentReference.read',
    ]);
    expect(grantScopes(['system/Patient.read'], allowed)).toEqual(['system/Patient.read']);
    expect(grantScopes(['system/Patient.read'], ['system/Patient.r'])).toEqual([]);
    expect(grantScopes(['system/Patient.write'], allowed)).toEqual([]);
  });

  it('narrows a v2 request to the registered permissions, in v2 letters', () => {
    const allowed = ['system/DocumentReference.read', 'system/Patient.rs', 'system/Consent.write'];
    expect(grantScopes(['system/DocumentReference.rs'], allowed)).toEqual(['system/DocumentReference.rs']);
    expect(grantScopes(['system/Patient.r', 'system/Patient.cruds'], allowed)).toEqual([
      'system/Patient.r',
      'system/Patient.rs',
    ]);
    expect(grantScopes(['system/Consent.cud'], allowed, NO_DELETE)).toEqual(['system/Consent.cu']);
    expect(grantScopes(['system/Consent.cruds'], allowed, NO_DELETE)).toEqual(['system/Consent.cu']);
    expect(grantScopes(['system/Consent.d'], allowed, NO_DELETE)).toEqual([]);
    expect(grantScopes(['system/Consent.rs'], allowed)).toEqual([]);
  });

  it('widening attempts get nothing the registration does not hold', () => {
    const allowed = ['system/Consent.write', 'system/Consent.read'];
    // the finding: .cud with .write registered must not come back as .cud (no delete here)
    expect(grantScopes(['system/Consent.cud'], allowed, NO_DELETE)).toEqual(['system/Consent.cu']);
    // a v1 scope covering more than registered is refused whole, never granted as asked
    expect(grantScopes(['system/Consent.*'], ['system/Consent.read'])).toEqual([]);
    expect(grantScopes(['system/Consent.write'], ['system/Consent.c'])).toEqual([]);
    // .write minus the never-granted delete is covered by create+update: answered in v2 letters
    expect(grantScopes(['system/Consent.write'], ['system/Consent.cu'], NO_DELETE)).toEqual([
      'system/Consent.cu',
    ]);
    expect(grantScopes(['system/Consent.write'], ['system/Consent.cu'])).toEqual([]);
    // another type's registration never counts
    expect(grantScopes(['system/Patient.cruds'], allowed)).toEqual([]);
    // an exact match of a parseable scope is still only what is grantable
    expect(grantScopes(['system/Consent.cruds'], ['system/Consent.cruds'], NO_DELETE)).toEqual([
      'system/Consent.crus',
    ]);
    // v1 .* registered: a v2 request gets what it asked (less the never-granted delete)
    expect(grantScopes(['system/Consent.cud'], ['system/Consent.*'], NO_DELETE)).toEqual([
      'system/Consent.cu',
    ]);
  });

  it('a v1 scope whose permissions are filtered is answered in v2 letters, so it never claims them', () => {
    // v1 .write means c, u, d; with delete never grantable the grant must not say .write
    const write = grantScopes(['system/Consent.write'], ['system/Consent.write'], NO_DELETE);
    expect(write).toEqual(['system/Consent.cu']);
    expect(scopeCovers(write, 'Consent', 'delete')).toBe(false);
    expect(scopeCovers(write, 'Consent', 'create')).toBe(true);
    expect(scopeCovers(write, 'Consent', 'update')).toBe(true);
    const all = grantScopes(
      ['system/Consent.*', 'system/*.*'],
      ['system/Consent.*', 'system/*.*'],
      NO_DELETE,
    );
    expect(all).toEqual(['system/Consent.crus', 'system/*.crus']);
    expect(scopeCovers(all, 'Consent', 'delete')).toBe(false);
    // nothing filtered: v1 stays v1 (read has no d; delete grantable keeps .write as asked)
    expect(grantScopes(['system/Consent.read'], ['system/Consent.read'], NO_DELETE)).toEqual([
      'system/Consent.read',
    ]);
    expect(grantScopes(['system/Consent.write'], ['system/Consent.write'])).toEqual(['system/Consent.write']);
    // no requested scope comes back covering delete when delete is not grantable
    for (const requested of [
      'system/Consent.write',
      'system/Consent.*',
      'system/*.write',
      'system/Consent.cud',
    ])
      expect(
        scopeCovers(
          grantScopes([requested], ['system/*.*', 'system/Consent.*'], NO_DELETE),
          'Consent',
          'delete',
        ),
      ).toBe(false);
  });

  it('a wildcard is granted only under a wildcard', () => {
    expect(grantScopes(['system/*.read'], ['system/Patient.read'])).toEqual([]);
    expect(grantScopes(['system/*.rs'], ['system/Patient.read', 'system/Binary.read'])).toEqual([]);
    expect(grantScopes(['system/Patient.read', 'system/*.rs'], ['system/*.read'])).toEqual([
      'system/Patient.read',
      'system/*.rs',
    ]);
    expect(grantScopes(['system/*.cruds'], ['system/*.read'])).toEqual(['system/*.rs']);
  });

  it('unknown scopes only on an exact match; granular registrations grant no whole type', () => {
    expect(grantScopes(['launch', 'openid'], ['openid'])).toEqual(['openid']);
    expect(grantScopes(['system/Observation.rs?category=laboratory'], ['system/Observation.rs'])).toEqual([]);
    expect(grantScopes(['system/Observation.rs'], ['system/Observation.rs?category=laboratory'])).toEqual([]);
    expect(grantScopes(['system/Observation.sr', 'system/Observation.x'], ['system/*.cruds'])).toEqual([]);
  });
});
