import { AuthFailure } from './access-token.claims';
import type { AccessPolicy } from './auth.decorators';
import { SERVICE_ROLE_EXCHANGE } from './principal';
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
  const deny = (reason: 'insufficient_scope' | 'insufficient_role' | 'service_only' | 'no_access_policy') =>
    new AuthFailure(reason, 403, principal.clientId);
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
      return principal.kind === 'operator' && policy.roles.some((role) => principal.roles.includes(role))
        ? null
        : deny('insufficient_role');
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
