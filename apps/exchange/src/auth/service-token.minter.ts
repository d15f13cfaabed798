import { Injectable } from '@nestjs/common';
import { SERVICE_ROLE_EXCHANGE } from '@tessera/platform-auth';
import { AccessTokenIssuer } from './access-token.issuer';

/** Client id (`sub`) of the exchange's own service token. */
export const EXCHANGE_SERVICE_CLIENT_ID = 'exchange';
/** A cached token is replaced when less than this much of its life is left. */
const REFRESH_MARGIN_SECONDS = 60;

/**
 * The exchange's token for its calls to the MPI, registry and consent service (aud
 * `tessera:internal`, kind `service`, role `service.exchange`). Minted locally with the signing
 * key, cached, and replaced a minute before it expires; concurrent callers share one mint.
 * Implements the exchange's ServiceTokenSource (`serviceToken()`).
 */
@Injectable()
export class ServiceTokenMinter {
  private current: { token: string; expiresAt: number } | undefined;
  private pending: Promise<string> | undefined;

  constructor(private readonly issuer: AccessTokenIssuer) {}

  async serviceToken(): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    if (this.current !== undefined && this.current.expiresAt - now > REFRESH_MARGIN_SECONDS)
      return this.current.token;
    this.pending ??= this.issuer
      .issue({
        clientId: EXCHANGE_SERVICE_CLIENT_ID,
        kind: 'service',
        institutionId: null,
        scopes: [],
        roles: [SERVICE_ROLE_EXCHANGE],
      })
      .then((issued) => {
        this.current = { token: issued.token, expiresAt: issued.expiresAt };
        return issued.token;
      })
      .finally(() => {
        this.pending = undefined;
      });
    return this.pending;
  }
}
