import { Controller, Get, Header, Inject } from '@nestjs/common';
import type { JWK } from 'jose';
import { AUTH_SETTINGS, Public } from '@tessera/platform-auth';
import type { AuthSettings } from '@tessera/platform-auth';
import { EXCHANGE_AUTH_SETTINGS, tokenEndpointOf } from './exchange-auth.config';
import type { ExchangeAuthSettings } from './exchange-auth.config';
import { CLIENT_ASSERTION_ALGORITHMS } from './oauth-client';
import { EXCHANGE_SIGNING_KEY } from './signing-key';
import type { ExchangeSigningKey } from './signing-key';

/** Scopes an institution can be registered for (the exchange's FHIR API). */
export const SUPPORTED_SCOPES = [
  'system/Patient.read',
  'system/DocumentReference.read',
  'system/Encounter.read',
  'system/DiagnosticReport.read',
  'system/Observation.read',
  'system/Binary.read',
  'system/Consent.read',
  'system/Consent.write',
  'system/AuditEvent.read',
  'system/Subscription.read',
  'system/Subscription.write',
  'system/Group.read',
  'system/Group.write',
] as const;

/** The same permissions in SMART v2 letters (v1 `.read` = `.rs`; `.write` = `.cud`, and no delete here). */
export const SUPPORTED_SCOPES_V2 = [
  'system/Patient.rs',
  'system/DocumentReference.rs',
  'system/Encounter.rs',
  'system/DiagnosticReport.rs',
  'system/Observation.rs',
  'system/Binary.rs',
  'system/Consent.rs',
  'system/Consent.cu',
  'system/AuditEvent.rs',
  'system/Subscription.rs',
  'system/Subscription.cu',
  'system/Group.rs',
  'system/Group.cu',
] as const;

/** Discovery: the issuer's public keys and the SMART configuration (SMART App Launch 2.x §Well-known). */
@Controller()
export class DiscoveryController {
  constructor(
    @Inject(EXCHANGE_SIGNING_KEY) private readonly key: ExchangeSigningKey,
    @Inject(EXCHANGE_AUTH_SETTINGS) private readonly settings: ExchangeAuthSettings,
    @Inject(AUTH_SETTINGS) private readonly auth: AuthSettings,
  ) {}

  @Get('.well-known/jwks.json')
  @Public()
  @Header('Cache-Control', 'public, max-age=300')
  jwks(): { keys: JWK[] } {
    return { keys: [this.key.publicJwk] };
  }

  @Get('fhir/.well-known/smart-configuration')
  @Public()
  @Header('Cache-Control', 'public, max-age=300')
  smartConfiguration(): Record<string, unknown> {
    return {
      issuer: this.auth.AUTH_ISSUER,
      jwks_uri: `${this.settings.EXCHANGE_PUBLIC_BASE_URL}/.well-known/jwks.json`,
      token_endpoint: tokenEndpointOf(this.settings),
      token_endpoint_auth_methods_supported: ['private_key_jwt'],
      token_endpoint_auth_signing_alg_values_supported: [...CLIENT_ASSERTION_ALGORITHMS],
      grant_types_supported: ['client_credentials'],
      scopes_supported: [...SUPPORTED_SCOPES, ...SUPPORTED_SCOPES_V2],
      capabilities: ['client-confidential-asymmetric', 'permission-v1', 'permission-v2'],
    };
  }
}
