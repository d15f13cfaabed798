import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AuditWriter } from '@tessera/platform-audit';
import type { AuditRecordData } from '@tessera/platform-audit';
import { CONSENT_SETTINGS } from '../consent.config';
import type { ConsentSettings } from '../consent.config';
import type { LinkChange } from '../links/link-changed.handler';
import { alertIdOf, isRegisteredThenQueried, shouldOpenAlert, windowEndingAt } from './watch.policy';
import { WatchRepository } from './watch.repository';

export interface NewLink extends LinkChange {
  readonly previousEnterpriseId: string | null;
}

/**
 * The privacy officer's watch (README "Sudden patterns"). From hie.mpi.link: a source record
 * MATCH-linked — first or moved from another person — to a person other institutions already hold
 * is a registration. From hie.audit: the first query (`rest`) by an institution about a person it
 * registered that way counts the person once, however late it comes. When one institution's count
 * of such first queries in the window exceeds CONSENT_WATCH_THRESHOLD, a privacy alert is opened (once per institution per window) and
 * a security-alert audit record written. Times are the events' own (decidedAt, recordedAt).
 */
@Injectable()
export class PatternWatchHandler {
  constructor(
    private readonly repository: WatchRepository,
    private readonly audit: AuditWriter,
    @Inject(CONSENT_SETTINGS) private readonly settings: ConsentSettings,
  ) {}

  async onLink(change: NewLink, tx: EntityManager): Promise<void> {
    // Any change into a MATCH counts, a move too: a first link to a new person of its own and a
    // later update onto the held one must not slip past.
    if (
      change.state !== 'MATCH' ||
      change.enterpriseId === null ||
      change.previousEnterpriseId === change.enterpriseId
    )
      return;
    const { patientSystem: system, localPatientId: value, enterpriseId } = change;
    const others = await this.repository.holdersOtherThan(tx, enterpriseId, system, value);
    if (others.length === 0) return;
    await this.repository.insertRegistration(
      tx,
      system,
      value,
      enterpriseId,
      new Date(change.decidedAt),
      others,
    );
  }

  /** Returns the id of the alert it opened, if any. */
  async onAudit(eventId: string, record: AuditRecordData, tx: EntityManager): Promise<string | undefined> {
    const institutionId = record.agent.institutionId;
    if (record.type !== 'rest' || institutionId === null || record.patients.length === 0) return undefined;
    const queriedAt = new Date(record.recordedAt);
    const minutes = this.settings.CONSENT_WATCH_WINDOW_MINUTES;
    let counted = false;
    for (const enterpriseId of new Set(record.patients)) {
      const registration = (await this.repository.registrationsBy(tx, institutionId, enterpriseId)).find(
        (r) => isRegisteredThenQueried(r.registeredAt, r.otherHolders, institutionId, queriedAt),
      );
      if (registration === undefined) continue;
      if (!counted) await this.repository.lockInstitution(tx, institutionId);
      counted =
        (await this.repository.insertHit(
          tx,
          institutionId,
          enterpriseId,
          registration.registeredAt,
          queriedAt,
        )) || counted;
    }
    if (!counted) return undefined;

    const window = windowEndingAt(queriedAt, minutes);
    const count = await this.repository.hitsInWindow(tx, institutionId, window.start, window.end);
    const threshold = this.settings.CONSENT_WATCH_THRESHOLD;
    if (
      !shouldOpenAlert(
        count,
        threshold,
        await this.repository.lastAlertEnd(tx, institutionId),
        queriedAt,
        minutes,
      )
    )
      return undefined;

    const id = alertIdOf(institutionId, eventId);
    const reason = `Institution ${institutionId} queried, within ${minutes} minutes, ${count} persons already held by other institutions that it had registered (threshold ${threshold}).`;
    await this.repository.insertAlert(tx, {
      id,
      institutionId,
      windowStart: window.start,
      windowEnd: window.end,
      personCount: count,
      threshold,
      reason,
    });
    // Before the commit: a failure retries the event (the alert row rolls back with it).
    await this.audit.record({
      type: 'security-alert',
      subtype: 'registered-then-queried',
      action: 'E',
      outcome: '4',
      outcomeDesc: 'privacy alert opened: persons registered then queried',
      agent: { clientId: null, institutionId: null },
      entities: [{ type: 'PrivacyAlert', reference: `privacy/alerts/${id}` }],
      detail: reason,
    });
    return id;
  }
}
