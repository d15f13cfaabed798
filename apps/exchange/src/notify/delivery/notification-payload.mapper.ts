import { randomUUID } from 'node:crypto';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { CLOSED_BY_RULE_TAG, notificationBundle, topicByCode } from '@tessera/subscriptions';
import type { NotificationEvent, NotificationType, PayloadContent } from '@tessera/subscriptions';
import type { NotificationRow } from '../notifications/notification.repository';
import type { SubscriptionRow } from '../subscriptions/subscription.repository';

/** The notification as the subscriber sees it: focus and context as exchange URLs, the resource only when asked for. */
export function notificationEventOf(row: NotificationRow, fhirBase: string): NotificationEvent {
  const resource = row.snapshot === null ? undefined : withRuleTag(row.snapshot, row.closedByRule);
  return {
    eventNumber: row.eventNumber ?? 0,
    timestamp: row.eventTime.toISOString(),
    focus: { reference: `${fhirBase}/${row.focusType ?? 'Resource'}/${row.focusId ?? ''}` },
    ...(row.enterpriseId === null
      ? {}
      : { additionalContext: [{ reference: `${fhirBase}/Patient/${row.enterpriseId}` }] }),
    ...(resource === undefined ? {} : { resources: [resource] }),
  };
}

function withRuleTag(resource: Resource, closedByRule: boolean): Resource {
  if (!closedByRule) return resource;
  return {
    ...resource,
    meta: { ...resource.meta, tag: [...(resource.meta?.tag ?? []), CLOSED_BY_RULE_TAG] },
  };
}

export function bundleFor(
  subscription: SubscriptionRow,
  type: NotificationType,
  events: readonly NotificationEvent[],
  fhirBase: string,
  payload: PayloadContent = subscription.payload as PayloadContent,
): Bundle {
  const topic = topicByCode(subscription.topic);
  return notificationBundle({
    bundleId: randomUUID(),
    timestamp: new Date().toISOString(),
    subscription: { reference: `${fhirBase}/Subscription/${subscription.id}` },
    topicUrl: topic?.url ?? subscription.topic,
    status: type === 'handshake' ? 'requested' : subscription.status,
    type,
    eventsSinceSubscriptionStart: subscription.eventsSinceStart,
    events,
    payload,
    baseUrl: fhirBase,
  });
}
