import { readFileSync } from 'node:fs';
import type { OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { LOGGER, REDIS_CLIENT } from '@tessera/platform-service';
import type { RedisClient } from '@tessera/platform-redis';
import { GATEWAY_SETTINGS } from '../gateway.config';
import type { GatewaySettings } from '../gateway.config';
import { institutionSchema } from './institution';
import type { Institution } from './institution';
import { identifierSystemsOfOthers } from '../mapping/identifier-ownership.policy';
import { InstitutionTypeormRepository } from './institution.typeorm-repository';
import type { VersionedInstitution } from './institution.typeorm-repository';

/** Redis channel on which a replica announces an institution change to the others. */
const CHANGED_CHANNEL = 'tessera:gateway:institutions-changed';
const REFRESH_INTERVAL_MS = 30_000;

const seedFileSchema = z.object({ region: z.string(), institutions: z.array(institutionSchema).min(1) });

/**
 * The institutions the gateway accepts messages from, kept in memory for the MLLP hot path
 * (lookup by MSH-4). Changes made through the admin API on any replica reach every replica at once
 * through Redis pub/sub, and within 30 s by polling if a notification is lost.
 */
@Injectable()
export class InstitutionRegistry implements OnModuleInit, OnApplicationShutdown {
  private byFacility = new Map<string, Institution>();
  /** Client-certificate CN → institution; null when two institutions claim the name (refused). */
  private byCertificate = new Map<string, Institution | null>();
  private byId = new Map<string, VersionedInstitution>();
  /** Per institution: the identifier systems only other institutions registered (computed on first use). */
  private systemsOfOthers = new Map<string, ReadonlySet<string>>();
  private subscriber: RedisClient | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly changeListeners: Array<() => void> = [];

  constructor(
    private readonly repository: InstitutionTypeormRepository,
    @Inject(GATEWAY_SETTINGS) private readonly settings: GatewaySettings,
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.seed();
    await this.refresh();
    this.subscriber = this.redis.duplicate();
    this.subscriber.on('error', (error: Error) =>
      this.logger.warn({ err: error }, 'institution subscriber error'),
    );
    await this.subscriber.connect();
    await this.subscriber.subscribe(CHANGED_CHANNEL, () => void this.refreshQuietly());
    this.timer = setInterval(() => void this.refreshQuietly(), REFRESH_INTERVAL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.subscriber?.close().catch(() => undefined);
  }

  /** The active institution sending as MSH-4 `facility`, if registered. */
  byFacilityCode(facility: string): Institution | undefined {
    return this.byFacility.get(facility);
  }

  /** The active institution a client certificate's CN names (feed.certificateNames), if exactly one. */
  byCertificateName(commonName: string): Institution | undefined {
    return this.byCertificate.get(commonName) ?? undefined;
  }

  /** The patient-identifier systems registered by other institutions and not by `institutionId`. */
  identifierSystemsOfOthers(institutionId: string): ReadonlySet<string> {
    let systems = this.systemsOfOthers.get(institutionId);
    const institution = this.byId.get(institutionId)?.institution;
    if (systems === undefined && institution !== undefined) {
      systems = identifierSystemsOfOthers(
        institution,
        [...this.byId.values()].map((e) => e.institution),
      );
      this.systemsOfOthers.set(institutionId, systems);
    }
    return systems ?? new Set();
  }

  get(id: string): VersionedInstitution | undefined {
    return this.byId.get(id);
  }

  list(): VersionedInstitution[] {
    return [...this.byId.values()];
  }

  /** Called after every refresh (another replica's change included). */
  onChange(listener: () => void): void {
    this.changeListeners.push(listener);
  }

  async save(institution: Institution, expectedVersion: number | undefined): Promise<VersionedInstitution> {
    const saved = await this.repository.save(institution, expectedVersion);
    await this.refresh();
    await this.redis.publish(CHANGED_CHANNEL, institution.id);
    return saved;
  }

  async refresh(): Promise<void> {
    const all = await this.repository.all();
    const byFacility = new Map<string, Institution>();
    const byCertificate = new Map<string, Institution | null>();
    for (const entry of all) {
      if (!entry.institution.active) continue;
      for (const code of entry.institution.sendingFacilities) byFacility.set(code, entry.institution);
      for (const name of entry.institution.feed.certificateNames) {
        byCertificate.set(name, byCertificate.has(name) ? null : entry.institution);
      }
    }
    this.byFacility = byFacility;
    this.byCertificate = byCertificate;
    this.byId = new Map(all.map((entry) => [entry.institution.id, entry]));
    this.systemsOfOthers = new Map();
    for (const listener of this.changeListeners) listener();
  }

  private async refreshQuietly(): Promise<void> {
    try {
      await this.refresh();
    } catch (error) {
      this.logger.warn({ err: error }, 'institution registry refresh failed; keeping the previous list');
    }
  }

  /** Creates the seed file's institutions that do not exist yet; never overwrites changes. */
  private async seed(): Promise<void> {
    const file = this.settings.INSTITUTIONS_SEED_FILE;
    if (file === '') return;
    let parsed: z.output<typeof seedFileSchema>;
    try {
      const result = seedFileSchema.safeParse(parseYaml(readFileSync(file, 'utf8')));
      if (!result.success) {
        throw new Error(result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
      }
      parsed = result.data;
    } catch (error) {
      throw new Error(`Institutions seed file ${file} is invalid: ${(error as Error).message}`);
    }
    const existing = new Set((await this.repository.all()).map((e) => e.institution.id));
    for (const institution of parsed.institutions) {
      if (existing.has(institution.id)) continue;
      try {
        await this.repository.save(institution, undefined);
        this.logger.info({ institutionId: institution.id }, 'institution seeded');
      } catch (error) {
        // Another replica seeded it at the same moment.
        this.logger.debug({ institutionId: institution.id, err: error }, 'institution seed skipped');
      }
    }
  }
}
