import { createParamDecorator, SetMetadata } from '@nestjs/common';
import type { ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import type { OperatorRole, Principal } from './principal';
import { parseScopeRequirement } from './scope';
import type { ScopeInteraction, ScopeRequirement } from './scope';

/** What a route requires of its caller; a route without one is refused (secure by default). */
export type AccessPolicy =
  | { readonly type: 'public' }
  | { readonly type: 'scopes'; readonly requirement: ScopeRequirement }
  | { readonly type: 'roles'; readonly roles: readonly OperatorRole[]; readonly orService: boolean }
  | { readonly type: 'service' };

export const ACCESS_POLICY = 'tessera:access-policy';

/** No token needed (discovery documents, the token endpoint itself). */
export const Public = () => SetMetadata(ACCESS_POLICY, { type: 'public' } satisfies AccessPolicy);

/**
 * An institution client whose granted SMART scopes cover the interaction on the resource type:
 * `@RequireScopes('DocumentReference', 'search')` or `@RequireScopes('system/DocumentReference.read')`.
 */
export function RequireScopes(resourceTypeOrScope: string, interaction?: ScopeInteraction) {
  const requirement =
    interaction === undefined
      ? parseScopeRequirement(resourceTypeOrScope)
      : parseScopeRequirement(`${resourceTypeOrScope}.${interaction}`);
  return SetMetadata(ACCESS_POLICY, { type: 'scopes', requirement } satisfies AccessPolicy);
}

/** An operator client holding at least one of `roles` (an interface analyst's institution is on the principal). */
export function RequireRoles(...roles: OperatorRole[]) {
  if (roles.length === 0) throw new Error('RequireRoles needs at least one role');
  return SetMetadata(ACCESS_POLICY, { type: 'roles', roles, orService: false } satisfies AccessPolicy);
}

/**
 * An operator client holding one of `roles`, or the exchange's service token (design: consent
 * read/write and audit search are reached by operators directly and by institutions via the exchange).
 */
export function RequireRolesOrService(...roles: OperatorRole[]) {
  if (roles.length === 0) throw new Error('RequireRolesOrService needs at least one role');
  return SetMetadata(ACCESS_POLICY, { type: 'roles', roles, orService: true } satisfies AccessPolicy);
}

/** Only the exchange's service token (`kind` service with role `service.exchange`, audience `tessera:internal`). */
export const RequireService = () => SetMetadata(ACCESS_POLICY, { type: 'service' } satisfies AccessPolicy);

/** Request property the guard stores the verified principal under. */
export const PRINCIPAL_PROPERTY = 'tesseraPrincipal';

/** The verified principal of a request (undefined on public routes). */
export function principalOf(request: Request): Principal | undefined {
  return (request as unknown as Record<string, Principal | undefined>)[PRINCIPAL_PROPERTY];
}

/** Injects the verified Principal; on a @Public() route without a token it is undefined. */
export const CurrentPrincipal = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Principal | undefined =>
    principalOf(context.switchToHttp().getRequest<Request>()),
);
