import { Injectable } from '@nestjs/common';
import type { CanActivate, ExecutionContext } from '@nestjs/common';
import { ModuleRef, Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { HealthController, LOGGER, OperationOutcomeException } from '@tessera/platform-service';
import type { Issue } from '@tessera/platform-service';
import { AuthFailure } from './access-token.claims';
import { AccessTokenVerifier } from './access-token.verifier';
import { checkAccess, describeRefusal } from './access-policy';
import { ACCESS_POLICY, PRINCIPAL_PROPERTY } from './auth.decorators';
import type { AccessPolicy } from './auth.decorators';
import { AUTH_REJECTION_LISTENER } from './auth.tokens';
import type { AuthRejection, AuthRejectionListener } from './auth.tokens';

/** RFC 6750 §3: the challenge of every 401. */
export const INVALID_TOKEN_CHALLENGE = 'Bearer error="invalid_token"';

/**
 * The global guard of every service: a route is public, or requires scopes, roles or the service
 * token; a route that declares nothing is refused (secure by default). `/health`, `/health/live` and
 * `/metrics` (the platform's HealthController) are always public.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private resolved = false;
  private listener: AuthRejectionListener | undefined;
  private logger: Logger | undefined;

  constructor(
    private readonly reflector: Reflector,
    private readonly verifier: AccessTokenVerifier,
    private readonly moduleRef: ModuleRef,
  ) {}

  /**
   * The listener and the logger are looked up anywhere in the app on first use: the app binds
   * AUTH_REJECTION_LISTENER in its own module, which this global module cannot import.
   */
  private resolveOptional(): void {
    if (this.resolved) return;
    this.resolved = true;
    const find = <T>(token: symbol): T | undefined => {
      try {
        return this.moduleRef.get<T>(token, { strict: false });
      } catch {
        return undefined;
      }
    };
    this.listener = find<AuthRejectionListener>(AUTH_REJECTION_LISTENER);
    this.logger = find<Logger>(LOGGER);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    if (context.getClass() === HealthController) return true;
    const policy = this.reflector.getAllAndOverride<AccessPolicy | undefined>(ACCESS_POLICY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (policy?.type === 'public') return true;
    this.resolveOptional();

    const http = context.switchToHttp();
    const request = http.getRequest<Request>();
    const response = http.getResponse<Response>();
    try {
      const token = bearerToken(request.headers.authorization);
      if (token === undefined) throw new AuthFailure('missing_token', 401);
      const principal = await this.verifier.verify(token);
      (request as unknown as Record<string, unknown>)[PRINCIPAL_PROPERTY] = principal;
      const refusal = checkAccess(policy, principal);
      if (refusal !== null) {
        if (refusal.reason === 'no_access_policy') {
          this.logger?.error(
            { route: (request.route as { path?: string } | undefined)?.path, method: request.method },
            'route without an access policy (add @Public, @RequireScopes, @RequireRoles or @RequireService)',
          );
        }
        throw refusal;
      }
      return true;
    } catch (error) {
      if (!(error instanceof AuthFailure)) throw error;
      await this.report({
        reason: error.reason,
        status: error.status,
        ...(error.clientId === undefined ? {} : { clientId: error.clientId }),
        path: request.path,
        method: request.method,
      });
      if (error.status === 401) response.setHeader('WWW-Authenticate', INVALID_TOKEN_CHALLENGE);
      if (error.reason === 'insufficient_scope')
        response.setHeader('WWW-Authenticate', 'Bearer error="insufficient_scope"');
      throw new OperationOutcomeException(error.status, [issueFor(error, policy)]);
    }
  }

  private async report(rejection: AuthRejection): Promise<void> {
    if (this.listener === undefined) return;
    try {
      if (typeof this.listener === 'function') await this.listener(rejection);
      else await this.listener.onAuthRejected(rejection);
    } catch (error) {
      this.logger?.error({ err: error, reason: rejection.reason }, 'auth rejection listener failed');
    }
  }
}

/** The token of an `Authorization: Bearer <token>` header (scheme case-insensitive, RFC 6750 §2.1). */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
  return match?.[1];
}

function issueFor(failure: AuthFailure, policy: AccessPolicy | undefined): Issue {
  switch (failure.status) {
    case 401:
      return {
        code: 'login',
        diagnostics:
          failure.reason === 'missing_token'
            ? 'No access token: send Authorization: Bearer <token> (get one from the exchange POST /auth/token).'
            : `The access token was refused (${failure.reason}). Get a new token from the exchange POST /auth/token.`,
      };
    case 403:
      return { code: 'forbidden', diagnostics: describeRefusal(failure, policy) };
    case 503:
      return {
        code: 'exception',
        diagnostics: 'The token issuer keys cannot be fetched right now; try again shortly.',
      };
  }
}
