import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { ModuleRef } from '@nestjs/core';
import { grantScopes, splitScopes } from '@tessera/platform-auth';
import { LOGGER } from '@tessera/platform-service';
import { AccessTokenIssuer } from './access-token.issuer';
import { authenticateClient, OAuthError } from './client-assertion.validator';
import { ClientRegistry } from './client-registry.service';
import { EXCHANGE_AUTH_SETTINGS, tokenEndpointOf } from './exchange-auth.config';
import type { ExchangeAuthSettings } from './exchange-auth.config';
import { RedisJtiStore } from './redis-jti.store';
import { TOKEN_AUDIT_HOOK } from './token-audit.hook';
import type { TokenAuditHook } from './token-audit.hook';

/** What the exchange's FHIR API can do: create, read, update, search — never delete. */
const EXCHANGE_PERMISSIONS = ['c', 'r', 'u', 's'] as const;

export const CLIENT_ASSERTION_TYPE_JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** RFC 6749 §5.1 successful response. */
export interface TokenResponse {
  readonly access_token: string;
  readonly token_type: 'bearer';
  readonly expires_in: number;
  readonly scope: string;
}

/** The form parameters of a token request (strings or absent; arrays mean a parameter was repeated). */
export type TokenForm = Readonly<Record<string, unknown>>;

/**
 * POST /auth/token (SMART Backend Services): client_credentials grant authenticated by a JWT client
 * assertion; scope = requested ∩ registered, never wider (invalid_scope when nothing remains); the token's
 * audience follows the client kind. Every outcome goes to the token audit hook.
 */
@Injectable()
export class TokenHandler {
  private hook: TokenAuditHook | null | undefined;

  constructor(
    private readonly clients: ClientRegistry,
    private readonly jtis: RedisJtiStore,
    private readonly issuer: AccessTokenIssuer,
    @Inject(EXCHANGE_AUTH_SETTINGS) private readonly settings: ExchangeAuthSettings,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly moduleRef: ModuleRef,
  ) {}

  async handle(form: TokenForm): Promise<TokenResponse> {
    try {
      const response = await this.grant(form);
      return response;
    } catch (error) {
      const failure = error instanceof OAuthError ? error : this.unavailable(error);
      this.logger.info(
        { clientId: failure.clientId, error: failure.error, description: failure.description },
        'token request refused',
      );
      await this.audit((hook) =>
        hook.onTokenRejected({
          ...(failure.clientId === undefined ? {} : { clientId: failure.clientId }),
          reason: failure.error,
          status: failure.status,
        }),
      );
      throw failure;
    }
  }

  private async grant(form: TokenForm): Promise<TokenResponse> {
    for (const [name, value] of Object.entries(form)) {
      if (typeof value !== 'string')
        throw new OAuthError(400, 'invalid_request', `parameter ${name.slice(0, 40)} must be sent once`);
    }
    const param = (name: string): string | undefined => {
      const value = form[name];
      return typeof value === 'string' && value !== '' ? value : undefined;
    };
    const grantType = param('grant_type');
    if (grantType === undefined)
      throw new OAuthError(400, 'invalid_request', 'grant_type is required (client_credentials)');
    if (grantType !== 'client_credentials')
      throw new OAuthError(400, 'unsupported_grant_type', 'only grant_type=client_credentials is supported');
    if (param('client_assertion_type') !== CLIENT_ASSERTION_TYPE_JWT_BEARER) {
      throw new OAuthError(
        400,
        'invalid_request',
        `client_assertion_type must be ${CLIENT_ASSERTION_TYPE_JWT_BEARER}`,
      );
    }
    const assertion = param('client_assertion');
    if (assertion === undefined)
      throw new OAuthError(
        400,
        'invalid_request',
        'client_assertion is required (a JWT signed with your registered key)',
      );
    if (param('client_secret') !== undefined)
      throw new OAuthError(400, 'invalid_request', 'client secrets are not accepted; use a client_assertion');

    const clientIdParameter = param('client_id');
    const client = await authenticateClient(assertion, {
      tokenEndpoint: tokenEndpointOf(this.settings),
      findClient: (id) => this.clients.find(id),
      jtis: this.jtis,
      ...(clientIdParameter === undefined ? {} : { clientIdParameter }),
    });

    const requested = splitScopes(param('scope'));
    if (client.kind === 'institution' && requested.length === 0) {
      throw new OAuthError(
        400,
        'invalid_scope',
        'scope is required, e.g. system/DocumentReference.read',
        client.clientId,
      );
    }
    // The FHIR API has no delete interaction: no token claims a `d` (v1 `.write` needs only c and u).
    const scopes = grantScopes(requested, client.allowedScopes, { grantable: EXCHANGE_PERMISSIONS });
    if (requested.length > 0 && scopes.length === 0) {
      throw new OAuthError(
        400,
        'invalid_scope',
        'none of the requested scopes is registered for this client',
        client.clientId,
      );
    }
    const issued = await this.issuer.issue({
      clientId: client.clientId,
      kind: client.kind,
      institutionId: client.institutionId,
      scopes,
      roles: client.kind === 'operator' ? client.roles : [],
    });
    await this.audit((hook) =>
      hook.onTokenIssued({
        clientId: client.clientId,
        kind: client.kind,
        institutionId: client.institutionId,
        scopes,
        roles: client.kind === 'operator' ? client.roles : [],
        tokenId: issued.tokenId,
      }),
    );
    return {
      access_token: issued.token,
      token_type: 'bearer',
      expires_in: issued.expiresIn,
      scope: scopes.join(' '),
    };
  }

  /** Redis or Postgres down: no replay check or no registry, so no token (fail closed). */
  private unavailable(error: unknown): OAuthError {
    this.logger.error(
      { err: { name: (error as Error).name, message: (error as Error).message } },
      'token endpoint dependency failed',
    );
    return new OAuthError(
      503,
      'temporarily_unavailable',
      'the token service is temporarily unavailable; try again shortly',
    );
  }

  private async audit(call: (hook: TokenAuditHook) => void | Promise<void>): Promise<void> {
    if (this.hook === undefined) {
      try {
        this.hook = this.moduleRef.get<TokenAuditHook>(TOKEN_AUDIT_HOOK, { strict: false });
      } catch {
        this.hook = null;
      }
    }
    if (this.hook === null) return;
    try {
      await call(this.hook);
    } catch (error) {
      this.logger.error(
        { err: { name: (error as Error).name, message: (error as Error).message } },
        'token audit hook failed',
      );
    }
  }
}
