import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { Encounter } from '@medplum/fhirtypes';
import type { EntityManager } from 'typeorm';
import type { PatientPolicy } from '@tessera/consent-policy';
import { classifyEncounterChange, encounterSnapshot, isCoalescible } from '@tessera/subscriptions';
import type { NotificationTopicCode } from '@tessera/subscriptions';
import { NotificationRepository } from '../notifications/notification.repository';
import { NotifyConsentPolicy } from '../notify-consent.policy';
import { NOTIFY_SETTINGS } from '../notify.config';
import type { NotifySettings } from '../notify.config';
import { RosterRepository } from '../rosters/roster.repository';
import { SubscriptionRepository } from '../subscriptions/subscription.repository';
import type { SubscriptionRow } from '../subscriptions/subscription.repository';
import type { ClinicalEvent, ClinicalItem } from './clinical-event.mapper';
import { MatchStateRepository } from './match-state.repository';
import { NotifyLinkRepository } from './notify-link.repository';
import type { LinkDecision } from './notify-link.repository';

/** One thing worth telling subscribers about: an item under a topic. */
export interface Happening {
  readonly topic: NotificationTopicCode;
  readonly item: ClinicalItem;
  readonly closedByRule: boolean;
}

const FINISHED = new Set(['finished', 'cancelled', 'entered-in-error']);

/** Stable idempotency key of one notification (same inputs → same id, across replays and replicas). */
export function notificationId(
  subscriptionId: string,
  sourceEventId: string,
  item: string,
  topic: string,
): string {
  return createHash('sha256')
    .update(`${subscriptionId}\n${sourceEventId}\n${item}\n${topic}`)
    .digest('base64url')
    .slice(0, 32);
}

/**
 * From clinical events to queued notifications (docs/design/notifications.md "Matching"). Runs in
 * the consumer's transaction, so the notifications are written exactly when the event is applied:
 * 1. the event's source record is resolved to a person through the link projection (an event whose
 *    record has no link yet waits for it);
 * 2. each item gets its topic: an encounter by comparing it with what was last seen of it, a
 *    document or result by being new;
 * 3. the subscriptions to those topics whose roster holds the person (any of the person's source
 *    records is a member) or whose owner holds a record of the person (implicit roster), narrowed
 *    by their class and institution filters;
 * 4. the consent rule for each (subscriber, item); then one notification per subscription and item.
 */
@Injectable()
export class NotificationMatcher {
  constructor(
    private readonly links: NotifyLinkRepository,
    private readonly state: MatchStateRepository,
    private readonly rosters: RosterRepository,
    private readonly subscriptions: SubscriptionRepository,
    private readonly notifications: NotificationRepository,
    private readonly consent: NotifyConsentPolicy,
    @Inject(NOTIFY_SETTINGS) private readonly settings: NotifySettings,
  ) {}

  async onClinicalEvent(event: ClinicalEvent, tx: EntityManager): Promise<void> {
    await this.links.lockRecord(tx, event.system, event.value);
    const happenings = await this.happeningsOf(event, tx);
    if (happenings.length === 0) return;
    const person = await this.links.personOf(tx, event.system, event.value);
    if (person === undefined || person === null) {
      // Not linked yet: keep what happened and match it when the link arrives.
      await this.state.hold(tx, { ...event, items: happenings.map((h) => ({ ...h.item, topic: h.topic })) });
      return;
    }
    await this.notify(tx, event, person, happenings);
  }

  async onLinkDecision(decision: LinkDecision, tx: EntityManager): Promise<void> {
    await this.links.lockRecord(tx, decision.system, decision.value);
    const { applied, after } = await this.links.apply(tx, decision);
    if (!applied || after === null) return;
    for (const waiting of await this.state.release(tx, decision.system, decision.value)) {
      const happenings = waiting.items.map((item) => ({
        topic: (item as ClinicalItem & { topic: NotificationTopicCode }).topic,
        item,
        closedByRule: false,
      }));
      await this.notify(tx, waiting, after, happenings);
    }
  }

  /** What an event means for subscribers, updating what the matcher remembers of each item. */
  private async happeningsOf(event: ClinicalEvent, tx: EntityManager): Promise<Happening[]> {
    const out: Happening[] = [];
    for (const item of event.items) {
      const key = `${event.institutionId}|${item.resourceType}/${item.id}`;
      if (item.resourceType === 'Encounter') {
        const encounter = item.resource as Encounter;
        const previous = await this.state.encounter(tx, key);
        const topic = classifyEncounterChange(previous, encounter, event.trigger);
        const snapshot = encounterSnapshot(encounter);
        const opens = topic === 'admission' || topic === 'emergency-arrival';
        const closed = FINISHED.has(snapshot.status);
        await this.state.saveEncounter(tx, key, event, snapshot, item.resource, {
          openedAt: closed
            ? (previous?.openedAt ?? null)
            : opens
              ? new Date(event.eventTime)
              : (previous?.openedAt ?? null),
          closedAt: closed ? (previous?.closedAt ?? new Date(event.eventTime)) : null,
        });
        if (topic !== undefined) out.push({ topic, item, closedByRule: false });
      } else if (await this.state.firstSight(tx, key)) {
        out.push({
          topic: item.resourceType === 'DocumentReference' ? 'new-document' : 'new-result',
          item,
          closedByRule: false,
        });
      }
    }
    return out;
  }

  /** Queues the notifications of `happenings` about `person` for every subscription that may have them. */
  async notify(
    tx: EntityManager,
    event: Pick<ClinicalEvent, 'eventId' | 'institutionId' | 'system' | 'value' | 'eventTime' | 'trigger'>,
    person: string,
    happenings: readonly Happening[],
  ): Promise<number> {
    const rosterIds = await this.rosters.rostersContaining(tx, person, event.system, event.value);
    const topics = [...new Set(happenings.map((h) => h.topic))];
    const candidates = (await this.subscriptions.candidates(tx, topics, rosterIds)).filter((s) =>
      filtersAdmit(s, event.institutionId),
    );
    if (candidates.length === 0) return 0;
    const policy: PatientPolicy | null = await this.consent.policyOf(person);
    let queued = 0;
    for (const subscription of candidates) {
      if (
        subscription.rosterKind === 'implicit' &&
        !this.consent.holds(policy, subscription.ownerInstitution)
      )
        continue;
      for (const h of happenings) {
        if (h.topic !== subscription.topic || !classAdmits(subscription, h)) continue;
        const subscriber = {
          institutionId: subscription.ownerInstitution,
          purposeOfUse: subscription.purposeOfUse,
        };
        if (
          !this.consent.permits(policy, subscriber, {
            sourceInstitution: event.institutionId,
            labels: h.item.labels,
          })
        )
          continue;
        const outcome = await this.notifications.enqueue(tx, {
          id: notificationId(subscription.id, event.eventId, `${h.item.resourceType}/${h.item.id}`, h.topic),
          subscriptionId: subscription.id,
          destinationId: subscription.destinationId,
          kind: 'event-notification',
          enterpriseId: person,
          topic: h.topic,
          focusType: h.item.resourceType,
          focusId: h.item.id,
          trigger: event.trigger ?? null,
          sourceInstitution: event.institutionId,
          sourceEventId: event.eventId,
          snapshot: h.item.resource,
          labels: h.item.labels,
          closedByRule: h.closedByRule,
          eventTime: event.eventTime,
          coalesceMs: isCoalescible(h.topic) ? this.settings.NOTIFY_COALESCE_WINDOW_MS : 0,
        });
        if (outcome !== 'duplicate') queued += 1;
      }
    }
    return queued;
  }
}

function filtersAdmit(s: SubscriptionRow, institutionId: string): boolean {
  return s.institutions.length === 0 || s.institutions.includes(institutionId);
}

function classAdmits(s: SubscriptionRow, h: Happening): boolean {
  if (s.classes.length === 0 || h.item.resourceType !== 'Encounter') return true;
  const code = (h.item.resource as Encounter).class?.code ?? '';
  return s.classes.includes(code);
}
