import { Injectable } from '@nestjs/common';
import { AuditWriter } from '@tessera/platform-audit';
import type { TokenAuditHook, TokenIssued, TokenRejected } from '../auth';

/**
 * Bound to TOKEN_AUDIT_HOOK: every token request of POST /auth/token is an audit record of type
 * `login` (outcome 0 issued, 4 refused, 8 server-side failure). Detached: the token endpoint never
 * waits on Kafka, and a lost record is logged (without secrets).
 */
@Injectable()
export class TokenAuditListener implements TokenAuditHook {
  constructor(private readonly writer: AuditWriter) {}

  onTokenIssued(event: TokenIssued): void {
    this.writer.recordDetached({
      type: 'login',
      subtype: 'token',
      action: 'E',
      outcome: '0',
      agent: { clientId: event.clientId, institutionId: event.institutionId, roles: [...event.roles] },
      entities: [{ type: 'token', reference: `jti:${event.tokenId}` }],
      detail: `scopes ${event.scopes.join(' ')}`.slice(0, 1000),
    });
  }

  onTokenRejected(event: TokenRejected): void {
    this.writer.recordDetached({
      type: 'login',
      subtype: 'token',
      action: 'E',
      outcome: event.status >= 500 ? '8' : '4',
      outcomeDesc: `${event.status} ${event.reason}`.slice(0, 500),
      agent: { clientId: event.clientId ?? null, institutionId: null },
    });
  }
}
