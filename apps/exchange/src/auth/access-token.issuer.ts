import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { SignJWT } from 'jose';
import {
  ACCESS_TOKEN_ALGORITHM,
  ACCESS_TOKEN_LIFETIME_SECONDS,
  ACCESS_TOKEN_TYPE,
  AUTH_SETTINGS,
  audienceForKind,
} from '@tessera/platform-auth';
import type { AuthSettings, PrincipalKind } from '@tessera/platform-auth';
import { EXCHANGE_SIGNING_KEY } from './signing-key';
import type { ExchangeSigningKey } from './signing-key';

export interface AccessTokenGrant {
  readonly clientId: string;
  readonly kind: PrincipalKind;
  readonly institutionId: string | null;
  readonly scopes: readonly string[];
  readonly roles: readonly string[];
}

export interface IssuedAccessToken {
  readonly token: string;
  readonly tokenId: string;
  readonly expiresAt: number; // epoch seconds
  readonly expiresIn: number;
}

/**
 * Signs access tokens (RFC 9068 `at+jwt`, ES256, 5 minutes) with the design's claims: `iss`
 * (AUTH_ISSUER), `sub` client id, `aud` by kind, `exp`, `iat`, `jti`, `scope`, `tessera_kind`,
 * `tessera_institution` (absent when none), `tessera_roles`.
 */
@Injectable()
export class AccessTokenIssuer {
  constructor(
    @Inject(EXCHANGE_SIGNING_KEY) private readonly key: ExchangeSigningKey,
    @Inject(AUTH_SETTINGS) private readonly auth: AuthSettings,
  ) {}

  async issue(
    grant: AccessTokenGrant,
    lifetimeSeconds = ACCESS_TOKEN_LIFETIME_SECONDS,
  ): Promise<IssuedAccessToken> {
    const now = Math.floor(Date.now() / 1000);
    const tokenId = randomUUID();
    const expiresAt = now + lifetimeSeconds;
    const token = await new SignJWT({
      ...(grant.scopes.length === 0 ? {} : { scope: grant.scopes.join(' ') }),
      tessera_kind: grant.kind,
      ...(grant.institutionId === null ? {} : { tessera_institution: grant.institutionId }),
      tessera_roles: [...grant.roles],
    })
      .setProtectedHeader({ alg: ACCESS_TOKEN_ALGORITHM, typ: ACCESS_TOKEN_TYPE, kid: this.key.kid })
      .setIssuer(this.auth.AUTH_ISSUER)
      .setSubject(grant.clientId)
      .setAudience(audienceForKind(grant.kind))
      .setIssuedAt(now)
      .setExpirationTime(expiresAt)
      .setJti(tokenId)
      .sign(this.key.privateKey);
    return { token, tokenId, expiresAt, expiresIn: lifetimeSeconds };
  }
}
