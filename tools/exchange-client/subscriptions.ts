import {
  CHANNEL_TYPE_EXTENSION,
  FILTER_CRITERIA_EXTENSION,
  HEARTBEAT_PERIOD_EXTENSION,
  PAYLOAD_CONTENT_EXTENSION,
  TESSERA_CHANNEL_TYPE_SYSTEM,
  topicByCode,
} from '@tessera/subscriptions';
import type { NotificationTopicCode, PayloadContent } from '@tessera/subscriptions';

/*
 * What a subscribing institution sends: rosters (FHIR Group of patient identifiers) and R4
 * topic-based Subscriptions as the Subscriptions R5 Backport IG shapes them. Used by the tour, the
 * benchmark and the tests, so all three speak to the exchange as an unmodified client would.
 */

export interface SubscriptionSpec {
  readonly topic: NotificationTopicCode;
  /** A roster id (Group/<id>), or 'implicit': every person the subscriber holds a record of. */
  readonly roster: string;
  readonly endpoint: string;
  readonly channel?: 'rest-hook' | 'hl7v2-mllp';
  readonly payload?: PayloadContent;
  /** Encounter classes (v3 ActCode, e.g. IMP, EMER). */
  readonly classes?: readonly string[];
  readonly institutions?: readonly string[];
  readonly heartbeatSeconds?: number;
  readonly reason?: string;
}

export function subscriptionOf(spec: SubscriptionSpec): Record<string, unknown> {
  const topic = topicByCode(spec.topic);
  if (topic === undefined) throw new Error(`no topic ${spec.topic}`);
  const filters = [`patient=${spec.roster === 'implicit' ? 'implicit' : `Group/${spec.roster}`}`];
  if (spec.classes !== undefined && spec.classes.length > 0) filters.push(`class=${spec.classes.join(',')}`);
  if (spec.institutions !== undefined && spec.institutions.length > 0)
    filters.push(`institution=${spec.institutions.join(',')}`);
  const channel: Record<string, unknown> =
    spec.channel === 'hl7v2-mllp'
      ? {
          type: 'rest-hook',
          _type: {
            extension: [
              {
                url: CHANNEL_TYPE_EXTENSION,
                valueCoding: { system: TESSERA_CHANNEL_TYPE_SYSTEM, code: 'hl7v2-mllp' },
              },
            ],
          },
          endpoint: spec.endpoint,
        }
      : {
          type: 'rest-hook',
          endpoint: spec.endpoint,
          payload: 'application/fhir+json',
          _payload: { extension: [{ url: PAYLOAD_CONTENT_EXTENSION, valueCode: spec.payload ?? 'id-only' }] },
        };
  if (spec.heartbeatSeconds !== undefined)
    channel['extension'] = [{ url: HEARTBEAT_PERIOD_EXTENSION, valueUnsignedInt: spec.heartbeatSeconds }];
  return {
    resourceType: 'Subscription',
    meta: {
      profile: ['http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription'],
    },
    status: 'requested',
    reason: spec.reason ?? `${topic.title} for our patients`,
    criteria: topic.url,
    _criteria: {
      extension: [
        { url: FILTER_CRITERIA_EXTENSION, valueString: `${topic.resourceType}?${filters.join('&')}` },
      ],
    },
    channel,
  };
}

/** A roster as a FHIR Group (type person, actual) of patient identifiers. */
export function rosterOf(
  name: string,
  members: readonly { readonly system: string; readonly value: string }[],
): Record<string, unknown> {
  return {
    resourceType: 'Group',
    type: 'person',
    actual: true,
    name,
    member: members.map((m) => ({ entity: { identifier: { system: m.system, value: m.value } } })),
  };
}
