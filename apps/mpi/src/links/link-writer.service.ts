import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { MpiLinkChanged } from '@tessera/contracts';
import type { Decision, FieldComparison } from '@tessera/matching';
import { OutboxWriter } from '@tessera/platform-outbox';
import { IdentityRepository } from '../identity/identity.repository';
import type { LinkRow } from '../identity/identity.repository';

export const MPI_SOURCE = '/tessera/mpi';

/** Kafka key of a source record's link events: one record's changes stay in order. */
export function linkEventKey(system: string, localId: string): string {
  return `${system}|${localId}`;
}

export interface LinkChange {
  readonly enterpriseId: string;
  readonly state: Decision;
  readonly origin: 'AUTO' | 'MANUAL';
  readonly score: number | null;
  readonly comparisons: readonly FieldComparison[];
  readonly ruleSetVersion: string;
  readonly reason: string;
  /** Operator id of a MANUAL decision; null for the engine. */
  readonly decidedBy: string | null;
  readonly at: Date;
}

/**
 * Every link change is the current link (version + 1), an immutable link_events row and an
 * MpiLinkChanged event on hie.mpi.link keyed `${system}|${localId}`, all in the caller's transaction
 * (docs/architecture.md "Identity (MPI)": every link decision is an immutable event).
 */
@Injectable()
export class LinkWriter {
  constructor(
    private readonly repository: IdentityRepository,
    private readonly outbox: OutboxWriter,
  ) {}

  /** Returns the decision id (link_events.id, also in the event). */
  async write(
    tx: EntityManager,
    record: { readonly id: string; readonly system: string; readonly localId: string },
    before: LinkRow | null,
    change: LinkChange,
  ): Promise<string> {
    const decisionId = randomUUID();
    await this.repository.writeLink(tx, {
      id: decisionId,
      sourceRecordId: record.id,
      before: before === null ? null : { enterpriseId: before.enterpriseId, state: before.state },
      ...change,
    });
    await this.outbox.enqueue(tx, MpiLinkChanged, {
      key: linkEventKey(record.system, record.localId),
      source: MPI_SOURCE,
      subject: change.enterpriseId,
      data: {
        patientSystem: record.system,
        localPatientId: record.localId,
        enterpriseId: change.enterpriseId,
        previousEnterpriseId: before?.enterpriseId ?? null,
        state: change.state,
        origin: change.origin,
        score: change.score,
        ruleSetVersion: change.ruleSetVersion,
        decidedAt: change.at.toISOString(),
        reason: change.reason,
        decisionId,
        comparisons: change.comparisons.map((c) => ({ field: c.field, level: c.level, weight: c.weight })),
      },
    });
    return decisionId;
  }
}
