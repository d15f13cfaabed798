import { Global, Module } from '@nestjs/common';
import type { DynamicModule, InjectionToken } from '@nestjs/common';
import { APP_GUARD, ModuleRef } from '@nestjs/core';
import type { JWTVerifyGetKey, KeyLike } from 'jose';
import { loadConfig } from '@tessera/platform-config';
import { AccessTokenVerifier } from './access-token.verifier';
import { authConfig, jwksUrlOf } from './auth.config';
import type { AuthSettings } from './auth.config';
import { AuthGuard } from './auth.guard';
import { AUTH_SETTINGS } from './auth.tokens';

export interface AuthModuleOptions {
  /** Audiences this service accepts, e.g. `Audiences.exchange` or `[Audiences.operator, Audiences.internal]`. */
  readonly audience: string | readonly string[];
  /** Extra audiences an institution token may carry (the exchange's FHIR base URL). */
  readonly extraInstitutionAudiences?: readonly string[];
  /**
   * DI token of a local verification key (KeyLike) or key-set function, used instead of fetching
   * AUTH_JWKS_URL: the exchange verifies its own tokens with its own key. Resolved on first use.
   */
  readonly verificationKey?: InjectionToken;
  /** Settings instead of the environment (tests). */
  readonly settings?: AuthSettings;
  readonly clockToleranceSeconds?: number;
}

/**
 * Token verification for a service: registers AuthGuard globally (every route must declare
 * @Public, @RequireScopes, @RequireRoles(OrService) or @RequireService) and exports
 * AccessTokenVerifier and AUTH_SETTINGS.
 */
@Global()
@Module({})
export class AuthModule {
  static forRoot(options: AuthModuleOptions): DynamicModule {
    return {
      module: AuthModule,
      providers: [
        { provide: AUTH_SETTINGS, useFactory: () => options.settings ?? loadConfig(authConfig) },
        {
          provide: AccessTokenVerifier,
          inject: [AUTH_SETTINGS, ModuleRef],
          useFactory: (settings: AuthSettings, moduleRef: ModuleRef) =>
            new AccessTokenVerifier({
              issuer: settings.AUTH_ISSUER,
              audience: options.audience,
              keys:
                options.verificationKey === undefined
                  ? new URL(jwksUrlOf(settings))
                  : lazyKey(moduleRef, options.verificationKey),
              ...(options.extraInstitutionAudiences === undefined
                ? {}
                : { extraInstitutionAudiences: options.extraInstitutionAudiences }),
              ...(options.clockToleranceSeconds === undefined
                ? {}
                : { clockToleranceSeconds: options.clockToleranceSeconds }),
            }),
        },
        { provide: APP_GUARD, useClass: AuthGuard },
      ],
      exports: [AUTH_SETTINGS, AccessTokenVerifier],
    };
  }
}

function lazyKey(moduleRef: ModuleRef, token: InjectionToken): JWTVerifyGetKey {
  let key: KeyLike | JWTVerifyGetKey | undefined;
  return async (header, input) => {
    key ??= await moduleRef.get<KeyLike | JWTVerifyGetKey | Promise<KeyLike>>(token, { strict: false });
    return typeof key === 'function' ? key(header, input) : key;
  };
}
