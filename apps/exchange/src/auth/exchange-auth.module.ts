import { Module } from '@nestjs/common';
import { loadConfig } from '@tessera/platform-config';
import { CLIENT_DIRECTORY } from '../context/client-directory';
import { SERVICE_TOKEN_SOURCE } from '../upstream/upstream.client';
import { AccessTokenIssuer } from './access-token.issuer';
import { ClientRegistry } from './client-registry.service';
import { DiscoveryController } from './discovery.controller';
import { EXCHANGE_AUTH_SETTINGS, exchangeAuthConfig } from './exchange-auth.config';
import type { ExchangeAuthSettings } from './exchange-auth.config';
import { RedisJtiStore } from './redis-jti.store';
import { ServiceTokenMinter } from './service-token.minter';
import { EXCHANGE_SIGNING_KEY, EXCHANGE_VERIFICATION_KEY, loadSigningKey } from './signing-key';
import type { ExchangeSigningKey } from './signing-key';
import { TokenController } from './token.controller';
import { TokenHandler } from './token.handler';

/**
 * The exchange as SMART Backend Services authorization server: POST /auth/token, the issuer JWKS,
 * the SMART configuration, the client registry (oauth_clients, seeded from EXCHANGE_CLIENTS_FILE)
 * and the exchange's own service token. Needs PlatformModule and AuthModule (AUTH_SETTINGS) in the
 * app. Binds SERVICE_TOKEN_SOURCE (ServiceTokenMinter) and CLIENT_DIRECTORY (ClientRegistry) for the
 * rest of the exchange, and EXCHANGE_VERIFICATION_KEY for `AuthModule.forRoot({ verificationKey })`.
 * Token requests are reported to TOKEN_AUDIT_HOOK when the app binds one.
 */
@Module({
  controllers: [TokenController, DiscoveryController],
  providers: [
    { provide: EXCHANGE_AUTH_SETTINGS, useFactory: () => loadConfig(exchangeAuthConfig) },
    {
      provide: EXCHANGE_SIGNING_KEY,
      inject: [EXCHANGE_AUTH_SETTINGS],
      useFactory: (s: ExchangeAuthSettings) => loadSigningKey(s.EXCHANGE_SIGNING_KEY_FILE),
    },
    {
      provide: EXCHANGE_VERIFICATION_KEY,
      inject: [EXCHANGE_SIGNING_KEY],
      useFactory: (k: ExchangeSigningKey) => k.publicKey,
    },
    ClientRegistry,
    RedisJtiStore,
    AccessTokenIssuer,
    TokenHandler,
    ServiceTokenMinter,
    { provide: SERVICE_TOKEN_SOURCE, useExisting: ServiceTokenMinter },
    { provide: CLIENT_DIRECTORY, useExisting: ClientRegistry },
  ],
  exports: [
    EXCHANGE_AUTH_SETTINGS,
    EXCHANGE_VERIFICATION_KEY,
    ClientRegistry,
    AccessTokenIssuer,
    ServiceTokenMinter,
    SERVICE_TOKEN_SOURCE,
    CLIENT_DIRECTORY,
  ],
})
export class ExchangeAuthModule {}
