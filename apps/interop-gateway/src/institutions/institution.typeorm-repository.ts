import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { EntityManager } from 'typeorm';
import type { Institution } from './institution';
import { withFeedDefaults } from './institution';
import { InstitutionFacilityOrmEntity, InstitutionOrmEntity } from './institution.orm-entity';

export interface VersionedInstitution {
  readonly institution: Institution;
  readonly version: number;
  readonly updatedAt: Date;
}

export class InstitutionConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InstitutionConflictError';
  }
}

@Injectable()
export class InstitutionTypeormRepository {
  constructor(private readonly dataSource: DataSource) {}

  async all(): Promise<VersionedInstitution[]> {
    const rows = await this.dataSource.getRepository(InstitutionOrmEntity).find({ order: { id: 'ASC' } });
    return rows.map((row) => ({
      institution: withFeedDefaults(row.document),
      version: row.version,
      updatedAt: row.updatedAt,
    }));
  }

  async get(id: string): Promise<VersionedInstitution | undefined> {
    const row = await this.dataSource.getRepository(InstitutionOrmEntity).findOneBy({ id });
    return row === null
      ? undefined
      : { institution: withFeedDefaults(row.document), version: row.version, updatedAt: row.updatedAt };
  }

  /**
   * Creates (expectedVersion undefined) or updates (expectedVersion = the version the caller read)
   * one institution and its MSH-4 codes atomically. Throws InstitutionConflictError when another
   * writer got there first or a sending facility code belongs to another institution.
   */
  async save(institution: Institution, expectedVersion: number | undefined): Promise<VersionedInstitution> {
    return this.dataSource.transaction(async (tx) => {
      const now = new Date();
      let version: number;
      if (expectedVersion === undefined) {
        const inserted = await tx.query<unknown[]>(
          `INSERT INTO institutions (id, document, version, updated_at) VALUES ($1, $2::jsonb, 1, $3)
           ON CONFLICT (id) DO NOTHING RETURNING version`,
          [institution.id, JSON.stringify(institution), now],
        );
        if (inserted.length === 0)
          throw new InstitutionConflictError(`Institution ${institution.id} already exists`);
        version = 1;
      } else {
        const updated = await tx.query<[Array<{ version: number }>, number]>(
          `UPDATE institutions SET document = $2::jsonb, version = version + 1, updated_at = $3
           WHERE id = $1 AND version = $4 RETURNING version`,
          [institution.id, JSON.stringify(institution), now, expectedVersion],
        );
        const row = updated[0][0];
        if (row === undefined) {
          throw new InstitutionConflictError(
            `Institution ${institution.id} was changed by someone else (expected version ${expectedVersion}); read it again`,
          );
        }
        version = row.version;
      }
      await this.replaceFacilities(tx, institution);
      await this.checkCertificateNames(tx, institution);
      return { institution, version, updatedAt: now };
    });
  }

  /** A client-certificate name identifies one institution only (the institutions table is small). */
  private async checkCertificateNames(tx: EntityManager, institution: Institution): Promise<void> {
    const others = await tx.query<Array<{ id: string; document: Institution }>>(
      `SELECT id, document FROM institutions WHERE id <> $1 FOR SHARE`,
      [institution.id],
    );
    for (const other of others) {
      const taken = withFeedDefaults(other.document).feed.certificateNames;
      const clash = institution.feed.certificateNames.find((name) => taken.includes(name));
      if (clash !== undefined) {
        throw new InstitutionConflictError(
          `Certificate name ${clash} already identifies institution ${other.id}`,
        );
      }
    }
  }

  private async replaceFacilities(tx: EntityManager, institution: Institution): Promise<void> {
    await tx.getRepository(InstitutionFacilityOrmEntity).delete({ institutionId: institution.id });
    for (const code of institution.sendingFacilities) {
      const result = await tx.query<unknown[]>(
        `INSERT INTO institution_facilities (code, institution_id) VALUES ($1, $2)
         ON CONFLICT (code) DO NOTHING RETURNING code`,
        [code, institution.id],
      );
      if (result.length === 0) {
        throw new InstitutionConflictError(`Sending facility ${code} already belongs to another institution`);
      }
    }
  }
}
