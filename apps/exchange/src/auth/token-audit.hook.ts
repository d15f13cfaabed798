/**
 * What the token endpoint tells the audit trail (the design audits token requests as `login`,
 * outcome 0 / 4 / 8). No secrets: never the assertion or the token, only ids and the error code.
 */
export interface TokenIssued {
  readonly clientId: string;
  readonly kind: 'institution' | 'operator';
  readonly institutionId: string | null;
  readonly scopes: readonly string[];
  readonly roles: readonly string[];
  readonly tokenId: string;
}

export interface TokenRejected {
  /** The claimed client id when one could be read (it may not exist). */
  readonly clientId?: string;
  /** RFC 6749 error code, e.g. invalid_client, invalid_scope. */
  readonly reason: string;
  readonly status: number;
}

export interface TokenAuditHook {
  onTokenIssued(event: TokenIssued): void | Promise<void>;
  onTokenRejected(event: TokenRejected): void | Promise<void>;
}

/** Optional: bind it to audit token requests; not bound → nothing is recorded (logs only). */
export const TOKEN_AUDIT_HOOK = Symbol('TOKEN_AUDIT_HOOK');
