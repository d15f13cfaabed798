import type {
  Bundle,
  BundleEntry,
  Coding,
  Parameters as FhirParameters,
  ParametersParameter,
  Reference,
  Resource,
} from '@medplum/fhirtypes';
import { createHash } from 'node:crypto';
import type { PayloadContent } from './subscription.mapper';

/**
 * Notification bundles of the Subscriptions R5 Backport IG for FHIR R4 ("Notifications"):
 * a `history` Bundle whose first entry is the SubscriptionStatus, carried in R4 as a `Parameters`
 * (profile backport-subscription-status-r4), then entries as the payload content asks ("Payload
 * Types").
 */
export const NOTIFICATION_BUNDLE_PROFILE =
  'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-notification-r4';
export const SUBSCRIPTION_STATUS_PROFILE =
  'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-status-r4';

export type NotificationType =
  'handshake' | 'heartbeat' | 'event-notification' | 'query-status' | 'query-event';

export interface NotificationEvent {
  readonly eventNumber: number;
  readonly timestamp: string; // instant
  readonly focus: Reference; // e.g. { reference: 'Encounter/abc' }
  readonly additionalContext?: readonly Reference[]; // e.g. Patient/<enterprise id>
  /** full-resource: the resources themselves (focus first); ignored for id-only/empty */
  readonly resources?: readonly Resource[];
}

export interface NotificationBundleArgs {
  readonly bundleId: string;
  readonly timestamp: string;
  readonly subscription: Reference;
  readonly topicUrl: string;
  readonly status: 'requested' | 'active' | 'error' | 'off';
  readonly type: NotificationType;
  readonly eventsSinceSubscriptionStart: number;
  readonly events: readonly NotificationEvent[];
  readonly payload: PayloadContent;
  readonly errors?: readonly string[];
  /** Bundle.meta.tag, e.g. CLOSED_BY_RULE_TAG on a notification that closes a visit by rule. */
  readonly tags?: readonly Coding[];
  /**
   * The exchange's FHIR base URL (no trailing slash). When given, full-resource entries get
   * `fullUrl` = base/Type/id (their identity); otherwise a name-based urn:uuid (R4 requires a
   * fullUrl on every history entry). Pass it: receivers resolve references against it.
   */
  readonly baseUrl?: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A name-based UUID (RFC 9562 §5.5, version 5 layout over SHA-1) so that entries needing a
 * `urn:uuid:` fullUrl get a stable one without a random source: the same input renders the same Bundle.
 */
export function nameBasedUuid(name: string): string {
  const h = createHash('sha1').update(`tessera-subscriptions:${name}`, 'utf8').digest();
  h[6] = ((h[6] ?? 0) & 0x0f) | 0x50;
  h[8] = ((h[8] ?? 0) & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

function uuidFor(id: string): string {
  return UUID.test(id) ? id.toLowerCase() : nameBasedUuid(id);
}

/**
 * A notification Bundle (type history). R4 Bundle rules bdl-3/bdl-4 make request and response
 * mandatory in a history Bundle, so the status entry carries the request for the subscription's
 * $status and a 200, as in the IG's examples; payload entries carry a GET of the resource.
 *
 * Payload content (IG "Payload Types"): `empty` — no focus or additional-context, no entries beyond
 * the status, and no topic (the R4 profile: topic SHOULD NOT be present with empty payloads);
 * `id-only` — focus and additional-context references in the status only; `full-resource` — also
 * one entry per resource of each event.
 */
export function notificationBundle(args: NotificationBundleArgs): Bundle {
  const status = statusParameters(args, args.payload);
  const subscriptionRef = args.subscription.reference ?? '';
  const statusEntry: BundleEntry = {
    // R4 Bundle: every entry outside transactions and batches has a fullUrl (its identity).
    fullUrl: `urn:uuid:${uuidFor(args.bundleId)}`,
    resource: { ...status, id: args.bundleId },
    request: { method: 'GET', url: `${subscriptionRef}/$status` },
    response: { status: '200' },
  };
  const payloadEntries: BundleEntry[] =
    args.payload === 'full-resource'
      ? args.events.flatMap((e) => (e.resources ?? []).map((r) => resourceEntry(r, args.baseUrl)))
      : [];
  return {
    resourceType: 'Bundle',
    id: args.bundleId,
    meta: {
      profile: [NOTIFICATION_BUNDLE_PROFILE],
      ...(args.tags !== undefined && args.tags.length > 0 ? { tag: args.tags.map((t) => ({ ...t })) } : {}),
    },
    type: 'history',
    timestamp: args.timestamp,
    entry: [statusEntry, ...payloadEntries],
  };
}

function resourceEntry(resource: Resource, baseUrl: string | undefined): BundleEntry {
  const path = `${resource.resourceType}/${resource.id ?? ''}`;
  return {
    fullUrl:
      baseUrl !== undefined && resource.id !== undefined
        ? `${baseUrl}/${path}`
        : `urn:uuid:${nameBasedUuid(path)}`,
    resource,
    request: { method: 'GET', url: path },
    response: { status: '200' },
  };
}

/** $status (IG operation "$status"): a searchset Bundle of SubscriptionStatus Parameters, one per subscription. */
export function statusBundle(statuses: readonly FhirParameters[]): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    total: statuses.length,
    entry: statuses.map((status, i) => {
      // R4 searchset entries need a fullUrl and their resources an id; a status has neither of its
      // own, so both are derived from the subscription it describes.
      const subscription = status.parameter?.find((p) => p.name === 'subscription')?.valueReference
        ?.reference;
      const id = status.id ?? nameBasedUuid(`status:${subscription ?? String(i)}`);
      return {
        fullUrl: `urn:uuid:${uuidFor(id)}`,
        resource: { ...status, id },
        search: { mode: 'match' as const },
      };
    }),
  };
}

/** The SubscriptionStatus of one subscription as $status returns it (no payload restriction applies). */
export function subscriptionStatusParameters(
  args: Omit<Parameters<typeof notificationBundle>[0], 'bundleId' | 'payload'>,
): FhirParameters {
  return statusParameters(args, undefined);
}

function statusParameters(
  args: Omit<NotificationBundleArgs, 'bundleId' | 'payload'>,
  payload: PayloadContent | undefined,
): FhirParameters {
  const references = payload !== 'empty';
  const parameter: ParametersParameter[] = [
    { name: 'subscription', valueReference: { ...args.subscription } },
    ...(references ? [{ name: 'topic', valueCanonical: args.topicUrl }] : []),
    { name: 'status', valueCode: args.status },
    { name: 'type', valueCode: args.type },
    // R4 has no integer64: the profile types the counters as strings.
    { name: 'events-since-subscription-start', valueString: String(args.eventsSinceSubscriptionStart) },
    ...args.events.map((e) => ({
      name: 'notification-event',
      part: [
        { name: 'event-number', valueString: String(e.eventNumber) },
        { name: 'timestamp', valueInstant: e.timestamp },
        ...(references ? [{ name: 'focus', valueReference: { ...e.focus } }] : []),
        ...(references
          ? (e.additionalContext ?? []).map((r) => ({ name: 'additional-context', valueReference: { ...r } }))
          : []),
      ],
    })),
    ...(args.errors ?? []).map((text) => ({ name: 'error', valueCodeableConcept: { text } })),
  ];
  return { resourceType: 'Parameters', meta: { profile: [SUBSCRIPTION_STATUS_PROFILE] }, parameter };
}
