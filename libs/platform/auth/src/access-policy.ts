import { AuthFailure } from './access-token.claims';
import type { AccessPolicy } from './auth.decorators';
import { isInstitutionScopedRole, SERVICE_ROLE_EXCHANGE } from './principal';
import type { Principal } from './principal';
import { exampleScope, scopeCovers } from './scope';

function isExchangeService(principal: Principal): boolean {
  return principal.kind === 'service' && principal.roles.includes(SERVICE_ROLE_EXCHANGE);
}

/**
 * Whether a verified principal may call a route with `policy` (undefined: the route declared none,
 * which is refused). Returns the refusal, or null when allowed.
 */
export function checkAccess(policy: AccessPolicy | undefined, principal: Principal): AuthFailure | null {
  const deny = (
    reason:
      'insufficient_scope' | 'insufficient_role' | 'regional_role' | 'service_only' | 'no_access_policy',
  ) => new AuthFailure(reason, 403, principal.clientId);
  if (policy === undefined) return deny('no_access_policy');
  switch (policy.type) {
    case 'public':
      return null;
    case 'scopes':
      return principal.kind === 'institution' &&
        scopeCovers(principal.scopes, policy.requirement.resourceType, policy.requirement.interaction)
        ? null
        : deny('insufficient_scope');
    case 'roles':
      if (policy.orService && isExchangeService(principal)) return null;
      if (principal.kind !== 'operator') return deny('insufficient_role');
      {
        const held = policy.roles.filter((role) => principal.roles.includes(role));
        if (held.length === 0) return deny('insufficient_role');
        // an operator bound to one institution acts only through roles that stay within it
        if (principal.institutionId !== null && !held.some(isInstitutionScopedRole))
          return deny('regional_role');
        return null;
      }
    case 'service':
      return isExchangeService(principal) ? null : deny('service_only');
  }
}

/** What the 403 says the route needed (no request data). */
export function describePolicy(policy: AccessPolicy | undefined): string {
  if (policy === undefined) return 'This endpoint declares no access policy and is refused to every caller.';
  switch (policy.type) {
    case 'public':
      return 'public';
    case 'scopes':
      return `This call needs a scope covering ${policy.requirement.interaction} on ${policy.requirement.resourceType} (e.g. ${exampleScope(policy.requirement)}).`;
    case 'roles':
      return `This call needs an operator client with one of the roles: ${policy.roles.join(', ')}.`;
    case 'service':
      return 'This call is only for the exchange service (institutions call the exchange API instead).';
  }
}

/** What a 403 tells the caller: the route's need, or why an institution-bound operator is refused. */
export function describeRefusal(failure: AuthFailure, policy: AccessPolicy | undefined): string {
  if (failure.reason === 'regional_role' && policy?.type === 'roles') {
    return `This call needs one of the roles ${policy.roles.join(', ')} held by a regional operator client: these roles act across every institution, and this client is bound to one institution (institution_id). Use a regional operator client (no institution_id).`;
  }
  return describePolicy(policy);
}
