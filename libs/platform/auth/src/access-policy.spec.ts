import { checkAccess, describeRefusal } from './access-policy';
import { AuthFailure } from './access-token.claims';
import type { AccessPolicy } from './auth.decorators';
import type { Principal } from './principal';
import { INSTITUTION_SCOPED_ROLES, OPERATOR_ROLES, SERVICE_ROLE_EXCHANGE } from './principal';

const principal = (p: Partial<Principal>): Principal => ({
  kind: 'institution',
  clientId: 'c',
  institutionId: 'st-aurelia',
  scopes: [],
  roles: [],
  tokenId: 'j',
  expiresAt: 0,
  ...p,
});
const reason = (policy: AccessPolicy | undefined, p: Principal) =>
  checkAccess(policy, p)?.reason ?? 'allowed';

describe('checkAccess', () => {
  const scopes: AccessPolicy = {
    type: 'scopes',
    requirement: { resourceType: 'DocumentReference', interaction: 'search' },
  };
  const roles: AccessPolicy = { type: 'roles', roles: ['consent.read'], orService: false };
  const rolesOrService: AccessPolicy = { type: 'roles', roles: ['consent.read'], orService: true };
  const service: AccessPolicy = { type: 'service' };
  const inst = principal({ scopes: ['system/DocumentReference.read'] });
  const op = principal({ kind: 'operator', institutionId: null, roles: ['consent.read'] });
  const svc = principal({ kind: 'service', institutionId: null, roles: [SERVICE_ROLE_EXCHANGE] });

  it('refuses a route without a policy, whoever calls (secure by default)', () => {
    for (const p of [inst, op, svc]) expect(reason(undefined, p)).toBe('no_access_policy');
  });

  it('scopes: institutions whose scopes cover the call', () => {
    expect(reason(scopes, inst)).toBe('allowed');
    expect(reason(scopes, principal({ scopes: ['system/Patient.read'] }))).toBe('insufficient_scope');
    expect(reason(scopes, { ...op, scopes: ['system/*.*'] })).toBe('insufficient_scope');
    expect(reason(scopes, svc)).toBe('insufficient_scope');
  });

  it('roles: operators holding one of them; the service token only where allowed', () => {
    expect(reason(roles, op)).toBe('allowed');
    expect(reason(roles, { ...op, roles: ['ledger.read'] })).toBe('insufficient_role');
    expect(reason(roles, svc)).toBe('insufficient_role');
    expect(reason(rolesOrService, svc)).toBe('allowed');
    expect(reason(rolesOrService, inst)).toBe('insufficient_role');
    expect(reason(roles, { ...inst, roles: ['consent.read'] })).toBe('insufficient_role');
  });

  it('roles: an operator bound to an institution acts only through institution-scoped roles', () => {
    expect([...INSTITUTION_SCOPED_ROLES].sort()).toEqual(['ledger.read', 'ledger.replay']);
    const analyst = principal({ kind: 'operator', institutionId: 'riverside', roles: ['ledger.read'] });
    const ledger: AccessPolicy = { type: 'roles', roles: ['ledger.read'], orService: false };
    expect(reason(ledger, analyst)).toBe('allowed');
    expect(reason({ ...ledger, roles: ['ledger.replay'] }, { ...analyst, roles: ['ledger.replay'] })).toBe(
      'allowed',
    );
    for (const role of OPERATOR_ROLES.filter((r) => !INSTITUTION_SCOPED_ROLES.includes(r))) {
      const policy: AccessPolicy = { type: 'roles', roles: [role], orService: false };
      expect(reason(policy, { ...analyst, roles: [role] })).toBe('regional_role');
      expect(reason(policy, { ...analyst, institutionId: null, roles: [role] })).toBe('allowed');
      // a route open to either kind of role lets the bound operator in through the scoped one only
      const either: AccessPolicy = { type: 'roles', roles: [role, 'ledger.read'], orService: false };
      expect(reason(either, { ...analyst, roles: [role, 'ledger.read'] })).toBe('allowed');
      expect(reason(either, { ...analyst, roles: [role] })).toBe('regional_role');
    }
    // holding none of the roles stays insufficient_role, bound or not
    expect(reason(roles, analyst)).toBe('insufficient_role');
  });

  it('the 403 of a refused institution-bound operator says what to use instead', () => {
    const policy: AccessPolicy = { type: 'roles', roles: ['mpi.review'], orService: false };
    const refusal = checkAccess(
      policy,
      principal({ kind: 'operator', institutionId: 'riverside', roles: ['mpi.review'] }),
    );
    expect(refusal).toBeInstanceOf(AuthFailure);
    expect(refusal?.status).toBe(403);
    const text = describeRefusal(refusal as AuthFailure, policy);
    expect(text).toMatch(/mpi\.review/);
    expect(text).toMatch(/bound to one institution/);
    expect(text).toMatch(/regional operator client/);
    expect(text).not.toContain('riverside');
    expect(describeRefusal(new AuthFailure('insufficient_role', 403, 'c'), policy)).toMatch(
      /needs an operator client with one of the roles: mpi\.review/,
    );
  });

  it('service: only the exchange service principal', () => {
    expect(reason(service, svc)).toBe('allowed');
    expect(reason(service, { ...svc, roles: [] })).toBe('service_only');
    expect(reason(service, { ...op, roles: [SERVICE_ROLE_EXCHANGE] })).toBe('service_only');
    expect(reason(service, inst)).toBe('service_only');
  });
});
