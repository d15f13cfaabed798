import { existsSync, readFileSync } from 'node:fs';
import { Inject, Injectable } from '@nestjs/common';
import type { OnModuleInit } from '@nestjs/common';
import type { JSONWebKeySet } from 'jose';
import { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import { LOGGER } from '@tessera/platform-service';
import type { ClientDirectory, ClientPolicy } from '../context/client-directory';
import { EXCHANGE_AUTH_SETTINGS } from './exchange-auth.config';
import type { ExchangeAuthSettings } from './exchange-auth.config';
import { parseClientsYaml } from './oauth-client';
import type { OAuthClient } from './oauth-client';

interface ClientRow {
  client_id: string;
  kind: 'institution' | 'operator';
  institution_id: string | null;
  jwks: JSONWebKeySet;
  allowed_scopes: string[];
  allowed_purposes: string[];
  roles: string[];
  rate_limit_per_second: number | null;
  enabled: boolean;
}

/** How long a client registration is cached per process (per-request lookups of the FHIR API). */
const CACHE_MS = 30_000;

/**
 * The exchange's registered OAuth clients (table oauth_clients). Seeds the table from
 * EXCHANGE_CLIENTS_FILE at boot; answers the token endpoint (`find`, always from the database, so
 * a disabled client stops getting tokens at once) and the FHIR API (`clientPolicy`, cached 30 s).
 */
@Injectable()
export class ClientRegistry implements ClientDirectory, OnModuleInit {
  private readonly cache = new Map<string, { client: OAuthClient | undefined; at: number }>();

  constructor(
    private readonly dataSource: DataSource,
    @Inject(EXCHANGE_AUTH_SETTINGS) private readonly settings: ExchangeAuthSettings,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onModuleInit(): Promise<void> {
    const file = this.settings.EXCHANGE_CLIENTS_FILE;
    if (file === '') return;
    if (!existsSync(file)) throw new Error(`EXCHANGE_CLIENTS_FILE ${file}: no such file`);
    const clients = parseClientsYaml(readFileSync(file, 'utf8'), file);
    const seeded = await this.seed(clients);
    this.logger.info({ clients: clients.length, updated: seeded, file }, 'oauth clients seeded');
  }

  /** Inserts the clients, or updates rows that came from the seed file; returns how many rows changed. */
  async seed(clients: readonly OAuthClient[]): Promise<number> {
    let changed = 0;
    for (const c of clients) {
      const rows = await this.dataSource.query<unknown[]>(
        `INSERT INTO oauth_clients (client_id, kind, institution_id, jwks, allowed_scopes, allowed_purposes, roles, rate_limit_per_second, enabled, managed_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'seed-file')
         ON CONFLICT (client_id) DO UPDATE SET
           kind = EXCLUDED.kind, institution_id = EXCLUDED.institution_id, jwks = EXCLUDED.jwks,
           allowed_scopes = EXCLUDED.allowed_scopes, allowed_purposes = EXCLUDED.allowed_purposes, roles = EXCLUDED.roles,
           rate_limit_per_second = EXCLUDED.rate_limit_per_second, enabled = EXCLUDED.enabled, updated_at = now()
         WHERE oauth_clients.managed_by = 'seed-file'
           AND (oauth_clients.kind, oauth_clients.institution_id, oauth_clients.jwks, oauth_clients.allowed_scopes,
                oauth_clients.allowed_purposes, oauth_clients.roles, oauth_clients.rate_limit_per_second, oauth_clients.enabled)
               IS DISTINCT FROM
               (EXCLUDED.kind, EXCLUDED.institution_id, EXCLUDED.jwks, EXCLUDED.allowed_scopes,
                EXCLUDED.allowed_purposes, EXCLUDED.roles, EXCLUDED.rate_limit_per_second, EXCLUDED.enabled)
         RETURNING client_id`,
        [
          c.clientId,
          c.kind,
          c.institutionId,
          JSON.stringify(c.jwks),
          c.allowedScopes,
          c.allowedPurposes,
          c.roles,
          c.rateLimitPerSecond,
          c.enabled,
        ],
      );
      changed += rows.length;
      this.cache.delete(c.clientId);
    }
    return changed;
  }

  /** The registration of an enabled client, straight from the database. */
  async find(clientId: string): Promise<OAuthClient | undefined> {
    const rows = await this.dataSource.query<ClientRow[]>(
      `SELECT client_id, kind, institution_id, jwks, allowed_scopes, allowed_purposes, roles, rate_limit_per_second, enabled
         FROM oauth_clients WHERE client_id = $1 AND enabled`,
      [clientId],
    );
    const row = rows[0];
    const client = row === undefined ? undefined : toClient(row);
    this.cache.set(clientId, { client, at: Date.now() });
    return client;
  }

  /** ClientDirectory: purposes of use and rate limit of a client (cached 30 s). */
  async clientPolicy(clientId: string): Promise<ClientPolicy | undefined> {
    const cached = this.cache.get(clientId);
    const client =
      cached !== undefined && Date.now() - cached.at < CACHE_MS ? cached.client : await this.find(clientId);
    if (client === undefined) return undefined;
    return { allowedPurposes: client.allowedPurposes, rateLimitPerSecond: client.rateLimitPerSecond };
  }
}

function toClient(row: ClientRow): OAuthClient {
  return {
    clientId: row.client_id,
    kind: row.kind,
    institutionId: row.institution_id,
    jwks: row.jwks,
    allowedScopes: row.allowed_scopes,
    allowedPurposes: row.allowed_purposes,
    roles: row.roles,
    rateLimitPerSecond: row.rate_limit_per_second,
    enabled: row.enabled,
  };
}
