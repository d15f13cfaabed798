import { checkAccess } from './access-policy';
import type { AccessPolicy } from './auth.decorators';
import type { Principal } from './principal';
import { SERVICE_ROLE_EXCHANGE } from './principal';

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

  it('service: only the exchange service principal', () => {
    expect(reason(service, svc)).toBe('allowed');
    expect(reason(service, { ...svc, roles: [] })).toBe('service_only');
    expect(reason(service, { ...op, roles: [SERVICE_ROLE_EXCHANGE] })).toBe('service_only');
    expect(reason(service, inst)).toBe('service_only');
  });
});
