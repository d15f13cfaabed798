// The exchange's authorization server (SMART Backend Services); see apps/exchange/README.md "Authentication".
export { ExchangeAuthModule } from './exchange-auth.module';
export { ServiceTokenMinter, EXCHANGE_SERVICE_CLIENT_ID } from './service-token.minter';
export { ClientRegistry } from './client-registry.service';
export { AccessTokenIssuer } from './access-token.issuer';
export { EXCHANGE_VERIFICATION_KEY, EXCHANGE_SIGNING_KEY } from './signing-key';
export { TOKEN_AUDIT_HOOK } from './token-audit.hook';
export type { TokenAuditHook, TokenIssued, TokenRejected } from './token-audit.hook';
export type { OAuthClient } from './oauth-client';
