import type { Encounter, Parameters, ParametersParameter } from '@medplum/fhirtypes';
import type { NotificationBundleArgs } from './notification-bundle.mapper';
import {
  NOTIFICATION_BUNDLE_PROFILE,
  SUBSCRIPTION_STATUS_PROFILE,
  nameBasedUuid,
  notificationBundle,
  statusBundle,
  subscriptionStatusParameters,
} from './notification-bundle.mapper';
import { CLOSED_BY_RULE_TAG } from './visit-closing.policy';

const TOPIC = 'urn:tessera:subscription-topic:admission';
const ENCOUNTER: Encounter = {
  resourceType: 'Encounter',
  id: 'enc-1',
  status: 'in-progress',
  class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' },
};
const EVENT = {
  eventNumber: 12,
  timestamp: '2026-03-01T08:00:01Z',
  focus: { reference: 'Encounter/enc-1' },
  additionalContext: [{ reference: 'Patient/ent-1' }],
  resources: [ENCOUNTER],
};

function args(overrides: Partial<NotificationBundleArgs> = {}): NotificationBundleArgs {
  return {
    bundleId: '0f8fad5b-d9cb-469f-a165-70867728950e',
    timestamp: '2026-03-01T08:00:05Z',
    subscription: { reference: 'Subscription/sub-1' },
    topicUrl: TOPIC,
    status: 'active',
    type: 'event-notification',
    eventsSinceSubscriptionStart: 12,
    events: [EVENT],
    payload: 'id-only',
    ...overrides,
  };
}

function param(p: Parameters, name: string): ParametersParameter | undefined {
  return p.parameter?.find((x) => x.name === name);
}

function statusOf(bundle: ReturnType<typeof notificationBundle>): Parameters {
  return bundle.entry?.[0]?.resource as Parameters;
}

describe('notificationBundle', () => {
  it('is a history Bundle whose first entry is the SubscriptionStatus Parameters, requested as $status', () => {
    const bundle = notificationBundle(args());
    expect(bundle).toMatchObject({
      resourceType: 'Bundle',
      id: '0f8fad5b-d9cb-469f-a165-70867728950e',
      meta: { profile: [NOTIFICATION_BUNDLE_PROFILE] },
      type: 'history',
      timestamp: '2026-03-01T08:00:05Z',
    });
    expect(bundle.entry?.[0]).toMatchObject({
      fullUrl: 'urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e',
      request: { method: 'GET', url: 'Subscription/sub-1/$status' },
      response: { status: '200' },
    });
    expect(statusOf(bundle).meta?.profile).toEqual([SUBSCRIPTION_STATUS_PROFILE]);
  });

  it('states subscription, topic, status, type and counters (as strings, the R4 profile types)', () => {
    const status = statusOf(notificationBundle(args()));
    expect(param(status, 'subscription')?.valueReference).toEqual({ reference: 'Subscription/sub-1' });
    expect(param(status, 'topic')?.valueCanonical).toBe(TOPIC);
    expect(param(status, 'status')?.valueCode).toBe('active');
    expect(param(status, 'type')?.valueCode).toBe('event-notification');
    expect(param(status, 'events-since-subscription-start')?.valueString).toBe('12');
  });

  it('id-only: each event has number, timestamp, focus and additional context, and no payload entries', () => {
    const bundle = notificationBundle(args());
    expect(param(statusOf(bundle), 'notification-event')?.part).toEqual([
      { name: 'event-number', valueString: '12' },
      { name: 'timestamp', valueInstant: '2026-03-01T08:00:01Z' },
      { name: 'focus', valueReference: { reference: 'Encounter/enc-1' } },
      { name: 'additional-context', valueReference: { reference: 'Patient/ent-1' } },
    ]);
    expect(bundle.entry).toHaveLength(1);
  });

  it('empty: no topic, focus or context, and no entries besides the status', () => {
    const bundle = notificationBundle(args({ payload: 'empty' }));
    const status = statusOf(bundle);
    expect(param(status, 'topic')).toBeUndefined();
    expect(param(status, 'notification-event')?.part).toEqual([
      { name: 'event-number', valueString: '12' },
      { name: 'timestamp', valueInstant: '2026-03-01T08:00:01Z' },
    ]);
    expect(bundle.entry).toHaveLength(1);
    expect(JSON.stringify(bundle)).not.toContain('enc-1');
  });

  it('full-resource: one entry per resource, with its absolute fullUrl when the base URL is given', () => {
    const bundle = notificationBundle(
      args({ payload: 'full-resource', baseUrl: 'https://tessera.example/fhir' }),
    );
    expect(bundle.entry).toHaveLength(2);
    expect(bundle.entry?.[1]).toEqual({
      fullUrl: 'https://tessera.example/fhir/Encounter/enc-1',
      resource: ENCOUNTER,
      request: { method: 'GET', url: 'Encounter/enc-1' },
      response: { status: '200' },
    });
  });

  it('full-resource without a base URL gives entries a stable name-based urn:uuid', () => {
    const a = notificationBundle(args({ payload: 'full-resource' }));
    const b = notificationBundle(args({ payload: 'full-resource' }));
    expect(a.entry?.[1]?.fullUrl).toMatch(
      /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(a.entry?.[1]?.fullUrl).toBe(b.entry?.[1]?.fullUrl);
  });

  it('handshake and heartbeat carry no events', () => {
    for (const type of ['handshake', 'heartbeat'] as const) {
      const bundle = notificationBundle(
        args({ type, events: [], status: type === 'handshake' ? 'requested' : 'active' }),
      );
      expect(param(statusOf(bundle), 'type')?.valueCode).toBe(type);
      expect(param(statusOf(bundle), 'notification-event')).toBeUndefined();
      expect(bundle.entry).toHaveLength(1);
    }
  });

  it('lists errors as error parameters', () => {
    const status = statusOf(notificationBundle(args({ status: 'error', errors: ['Endpoint unreachable.'] })));
    expect(status.parameter?.filter((p) => p.name === 'error')).toEqual([
      { name: 'error', valueCodeableConcept: { text: 'Endpoint unreachable.' } },
    ]);
  });

  it('carries tags such as closed-by-rule in Bundle.meta.tag', () => {
    expect(notificationBundle(args({ tags: [CLOSED_BY_RULE_TAG] })).meta?.tag).toEqual([CLOSED_BY_RULE_TAG]);
    expect(notificationBundle(args()).meta?.tag).toBeUndefined();
  });

  it('derives a UUID fullUrl for the status entry when the bundle id is not a UUID', () => {
    const bundle = notificationBundle(args({ bundleId: 'notif-42' }));
    expect(bundle.id).toBe('notif-42');
    expect(bundle.entry?.[0]?.fullUrl).toBe(`urn:uuid:${nameBasedUuid('notif-42')}`);
  });
});

describe('$status', () => {
  it('subscriptionStatusParameters keeps topic and focus (no payload restriction applies)', () => {
    const status = subscriptionStatusParameters({
      timestamp: '2026-03-01T08:00:05Z',
      subscription: { reference: 'Subscription/sub-1' },
      topicUrl: TOPIC,
      status: 'active',
      type: 'query-status',
      eventsSinceSubscriptionStart: 3,
      events: [EVENT],
    });
    expect(param(status, 'topic')?.valueCanonical).toBe(TOPIC);
    expect(param(status, 'type')?.valueCode).toBe('query-status');
    expect(param(status, 'notification-event')?.part?.map((p) => p.name)).toEqual([
      'event-number',
      'timestamp',
      'focus',
      'additional-context',
    ]);
  });

  it('statusBundle is a searchset of matches with stable ids and fullUrls', () => {
    const one = subscriptionStatusParameters({
      timestamp: '2026-03-01T08:00:05Z',
      subscription: { reference: 'Subscription/sub-1' },
      topicUrl: TOPIC,
      status: 'active',
      type: 'query-status',
      eventsSinceSubscriptionStart: 3,
      events: [],
    });
    const bundle = statusBundle([one, { ...one, id: 'given-id' }]);
    expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'searchset', total: 2 });
    expect(bundle.entry?.map((e) => e.search?.mode)).toEqual(['match', 'match']);
    const id = nameBasedUuid('status:Subscription/sub-1');
    expect(bundle.entry?.[0]).toMatchObject({ fullUrl: `urn:uuid:${id}`, resource: { id } });
    expect(bundle.entry?.[1]?.resource?.id).toBe('given-id');
    expect(statusBundle([]).entry).toEqual([]);
  });
});

describe('nameBasedUuid', () => {
  it('is an RFC 9562 version-5 layout, stable per name and different across names', () => {
    expect(nameBasedUuid('a')).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(nameBasedUuid('a')).toBe(nameBasedUuid('a'));
    expect(nameBasedUuid('a')).not.toBe(nameBasedUuid('b'));
  });
});
