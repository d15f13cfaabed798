import type { Extension, Subscription } from '@medplum/fhirtypes';
import type { NotificationTopic } from './topics';
import { topicByUrl } from './topics';

/**
 * Parse and render the R4 topic-based Subscription of the Subscriptions R5 Backport IG
 * (profile backport-subscription, "R4/B Topic-Based Subscription"):
 * - `criteria` = the topic's canonical URL;
 * - filters = backport-filter-criteria extensions on `_criteria`, each `<ResourceType>?<query>`,
 *   all of them ANDed (IG: "When multiple filters are applied, evaluates to true if all the
 *   conditions are met"); comma-separated values within one parameter are ORed (FHIR search);
 * - `channel.type` rest-hook, or a custom channel in the backport-channel-type extension on
 *   `channel._type` (IG "Channels": additional channel types are named there, the base code staying
 *   one R4 allows — the IG's own custom-channel example keeps `rest-hook`);
 * - `channel.payload` = MIME type, with the backport-payload-content extension (empty | id-only |
 *   full-resource) on `_payload`;
 * - heartbeat period, timeout and max count as backport extensions on `channel`.
 */
export const BACKPORT_SUBSCRIPTION_PROFILE =
  'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription';
const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/';
export const FILTER_CRITERIA_EXTENSION = `${BACKPORT}backport-filter-criteria`;
export const CHANNEL_TYPE_EXTENSION = `${BACKPORT}backport-channel-type`;
export const PAYLOAD_CONTENT_EXTENSION = `${BACKPORT}backport-payload-content`;
export const HEARTBEAT_PERIOD_EXTENSION = `${BACKPORT}backport-heartbeat-period`;
export const TIMEOUT_EXTENSION = `${BACKPORT}backport-timeout`;
export const MAX_COUNT_EXTENSION = `${BACKPORT}backport-max-count`;
/** Tessera's code system for channel types the IG does not define. */
export const TESSERA_CHANNEL_TYPE_SYSTEM =
  'https://tessera.example/fhir/CodeSystem/subscription-channel-type';
/**
 * R4 Subscription has no name; Tessera carries one here. The R5 cross-version extension
 * (R5_SUBSCRIPTION_NAME_EXTENSION) is accepted on input too, but not rendered: R4 validators
 * without the cross-version package reject its URL.
 */
export const SUBSCRIPTION_NAME_EXTENSION =
  'https://tessera.example/fhir/StructureDefinition/subscription-name';
export const R5_SUBSCRIPTION_NAME_EXTENSION =
  'http://hl7.org/fhir/5.0/StructureDefinition/extension-Subscription.name';
/** The notification payload MIME type (IG "Channels", REST-Hook: the POST's content-type). */
export const FHIR_JSON = 'application/fhir+json';
/** HL7 v2 ER7 ("pipe and hat") over MLLP: the content type Tessera states for the v2 channel. */
export const HL7V2_ER7 = 'x-application/hl7-v2+er7';

export type PayloadContent = 'empty' | 'id-only' | 'full-resource';
export type SubscriptionChannel =
  | {
      readonly type: 'rest-hook';
      readonly endpoint: string;
      readonly payload: PayloadContent;
      readonly headers: readonly string[];
    }
  | { readonly type: 'hl7v2-mllp'; readonly endpoint: string /* mllp://host:port or mllps://host:port */ };

export interface SubscriptionRequest {
  readonly topic: NotificationTopic;
  readonly roster: { readonly kind: 'group'; readonly groupId: string } | { readonly kind: 'implicit' };
  readonly classes: readonly string[]; // empty = all
  readonly institutions: readonly string[]; // empty = all
  readonly channel: SubscriptionChannel;
  readonly heartbeatPeriodSeconds?: number;
  readonly timeoutSeconds?: number;
  readonly maxCount?: number;
  readonly end?: string;
  readonly reason?: string;
  readonly name?: string;
}

export interface SubscriptionProblem {
  readonly location: string;
  readonly message: string;
}

/** Bounds Tessera accepts (documented in the README); the IG leaves them to the server. */
export const SUBSCRIPTION_LIMITS = {
  minHeartbeatSeconds: 60,
  maxHeartbeatSeconds: 7 * 24 * 3600,
  minTimeoutSeconds: 1,
  maxTimeoutSeconds: 120,
  maxMaxCount: 1000,
  maxHeaders: 10,
  maxHeaderLength: 4096,
} as const;

/** Headers the exchange sets itself; a subscriber may not override them. */
const RESERVED_HEADERS: ReadonlySet<string> = new Set([
  'host',
  'content-length',
  'content-type',
  'transfer-encoding',
  'connection',
  'x-tessera-signature',
]);
const HEADER = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*([^\r\n]*)$/;
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;
const CLASS_CODE = /^[A-Za-z]{1,16}$/;
const INSTITUTION_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** FHIR R4 instant: seconds and a time zone are required. */
const INSTANT =
  /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d{1,9})?(Z|[+-]((0\d|1[0-3]):[0-5]\d|14:00))$/;

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function extensionsOf(element: unknown): Json[] {
  if (!isObject(element) || !Array.isArray(element['extension'])) return [];
  return element['extension'].filter(isObject);
}

/**
 * Validates a client's R4 Subscription (backport profile) and returns what the exchange will store,
 * or every problem found, each with its location. Problems never repeat values the client sent:
 * headers may carry secrets and endpoints may carry tokens (docs/conventions.md §12).
 */
export function parseSubscription(
  resource: unknown,
  options: { readonly allowInsecureLoopback: boolean },
): SubscriptionRequest | readonly SubscriptionProblem[] {
  const problems: SubscriptionProblem[] = [];
  const problem = (location: string, message: string): void => {
    problems.push({ location, message });
  };
  if (!isObject(resource) || resource['resourceType'] !== 'Subscription') {
    return [
      {
        location: 'Subscription.resourceType',
        message: "Send a FHIR R4 resource with resourceType 'Subscription'.",
      },
    ];
  }

  // Topic.
  const criteria = resource['criteria'];
  let topic: NotificationTopic | undefined;
  if (typeof criteria !== 'string' || criteria === '') {
    problem(
      'Subscription.criteria',
      'criteria is required: the canonical URL of a topic (see the CapabilityStatement).',
    );
  } else if (criteria.includes('?')) {
    problem(
      'Subscription.criteria',
      'criteria is the topic canonical URL only; put filters in backport-filter-criteria extensions on _criteria.',
    );
  } else {
    topic = topicByUrl(criteria);
    if (topic === undefined)
      problem(
        'Subscription.criteria',
        'criteria is not a topic this exchange publishes (see the CapabilityStatement).',
      );
  }

  // Filters.
  const filters = topic !== undefined ? parseFilters(resource['_criteria'], topic, problem) : undefined;

  // Channel.
  const channel = parseChannel(resource['channel'], options, problem);

  // Channel extensions.
  const channelExtensions = extensionsOf(resource['channel']);
  const heartbeatPeriodSeconds = integerExtension(
    channelExtensions,
    HEARTBEAT_PERIOD_EXTENSION,
    'valueUnsignedInt',
    'Subscription.channel.extension:heartbeatPeriod',
    SUBSCRIPTION_LIMITS.minHeartbeatSeconds,
    SUBSCRIPTION_LIMITS.maxHeartbeatSeconds,
    problem,
  );
  const timeoutSeconds = integerExtension(
    channelExtensions,
    TIMEOUT_EXTENSION,
    'valueUnsignedInt',
    'Subscription.channel.extension:timeout',
    SUBSCRIPTION_LIMITS.minTimeoutSeconds,
    SUBSCRIPTION_LIMITS.maxTimeoutSeconds,
    problem,
  );
  const maxCount = integerExtension(
    channelExtensions,
    MAX_COUNT_EXTENSION,
    'valuePositiveInt',
    'Subscription.channel.extension:maxCount',
    1,
    SUBSCRIPTION_LIMITS.maxMaxCount,
    problem,
  );

  // end, reason, name.
  const end = resource['end'];
  if (end !== undefined && (typeof end !== 'string' || !INSTANT.test(end)))
    problem(
      'Subscription.end',
      'end must be a FHIR instant with seconds and a time zone, e.g. 2027-01-31T00:00:00Z.',
    );
  const reason = resource['reason'];
  if (reason !== undefined && (typeof reason !== 'string' || reason.trim() === ''))
    problem('Subscription.reason', 'reason must be a non-empty string.');
  let name: string | undefined;
  extensionsOf(resource).forEach((ext, i) => {
    if (ext['url'] !== SUBSCRIPTION_NAME_EXTENSION && ext['url'] !== R5_SUBSCRIPTION_NAME_EXTENSION) return;
    const value = ext['valueString'];
    if (typeof value !== 'string' || value.trim() === '' || value.length > 200)
      problem(
        `Subscription.extension[${i}]`,
        'The subscription name must be a string of 1 to 200 characters.',
      );
    else name = value;
  });

  if (problems.length > 0 || topic === undefined || filters === undefined || channel === undefined)
    return problems;
  return {
    topic,
    roster: filters.roster,
    classes: filters.classes,
    institutions: filters.institutions,
    channel,
    ...(heartbeatPeriodSeconds !== undefined ? { heartbeatPeriodSeconds } : {}),
    ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}),
    ...(maxCount !== undefined ? { maxCount } : {}),
    ...(typeof end === 'string' ? { end } : {}),
    ...(typeof reason === 'string' ? { reason } : {}),
    ...(name !== undefined ? { name } : {}),
  };
}

type Problem = (location: string, message: string) => void;

function parseFilters(
  criteriaElement: unknown,
  topic: NotificationTopic,
  problem: Problem,
): Pick<SubscriptionRequest, 'roster' | 'classes' | 'institutions'> | undefined {
  let roster: SubscriptionRequest['roster'] | undefined;
  let rosterSeen = false;
  const classes = new Set<string>();
  const institutions = new Set<string>();
  const accepted = topic.filters.map((f) => f.name);
  let ok = true;
  const bad: Problem = (location, message) => {
    ok = false;
    problem(location, message);
  };
  let index = 0;
  for (const ext of extensionsOf(criteriaElement)) {
    if (ext['url'] !== FILTER_CRITERIA_EXTENSION) continue;
    const location = `Subscription.criteria.extension:filterCriteria[${index++}]`;
    const value = ext['valueString'];
    if (typeof value !== 'string') {
      bad(location, 'A filter criteria extension needs a valueString such as Encounter?patient=Group/123.');
      continue;
    }
    const q = value.indexOf('?');
    const resourceType = q < 0 ? value : value.slice(0, q);
    if (resourceType !== topic.resourceType) {
      bad(
        location,
        `Filters of this topic start with '${topic.resourceType}?' (the topic's focus resource type).`,
      );
      continue;
    }
    for (const pair of (q < 0 ? '' : value.slice(q + 1)).split('&')) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      const key = eq < 0 ? pair : pair.slice(0, eq);
      let raw: string;
      try {
        raw = decodeURIComponent((eq < 0 ? '' : pair.slice(eq + 1)).replace(/\+/g, ' '));
      } catch {
        bad(location, 'A filter value is not valid percent-encoding.');
        continue;
      }
      const values = raw.split(',').map((v) => v.trim());
      if (!accepted.includes(key)) {
        bad(location, `Unknown filter parameter; this topic accepts ${accepted.join(', ')}.`);
        continue;
      }
      if (values.some((v) => v === '')) {
        bad(location, `The '${key}' filter needs a value (comma-separated values must not be empty).`);
        continue;
      }
      switch (key) {
        case 'patient': {
          if (rosterSeen) {
            bad(location, "Give the 'patient' filter once: one roster per subscription.");
            continue;
          }
          rosterSeen = true;
          const only = values.length === 1 ? values[0] : undefined;
          if (only === 'implicit') roster = { kind: 'implicit' };
          else if (only !== undefined && only.startsWith('Group/') && FHIR_ID.test(only.slice(6)))
            roster = { kind: 'group', groupId: only.slice(6) };
          else bad(location, "The 'patient' filter is one value: Group/<roster id> or 'implicit'.");
          break;
        }
        case 'class':
          if (values.some((v) => !CLASS_CODE.test(v)))
            bad(location, "The 'class' filter takes v3 ActCode class codes such as IMP,EMER.");
          else values.forEach((v) => classes.add(v.toUpperCase()));
          break;
        case 'institution':
          values.forEach((v) => {
            // Token form system|value is accepted for the Tessera institution system.
            const bar = v.indexOf('|');
            const id = bar < 0 ? v : v.slice(bar + 1);
            const system = bar < 0 ? undefined : v.slice(0, bar);
            if ((system !== undefined && system !== 'urn:tessera:institution') || !INSTITUTION_ID.test(id))
              bad(
                location,
                "The 'institution' filter takes Tessera institution ids (or urn:tessera:institution|<id>).",
              );
            else institutions.add(id);
          });
          break;
        default:
          bad(location, `Unknown filter parameter; this topic accepts ${accepted.join(', ')}.`);
      }
    }
  }
  if (!rosterSeen) {
    bad(
      'Subscription.criteria.extension:filterCriteria',
      `A 'patient' filter is required: ${topic.resourceType}?patient=Group/<roster id> or ${topic.resourceType}?patient=implicit.`,
    );
  }
  if (!ok || roster === undefined) return undefined;
  return { roster, classes: [...classes], institutions: [...institutions] };
}

function parseChannel(
  channel: unknown,
  options: { readonly allowInsecureLoopback: boolean },
  problem: Problem,
): SubscriptionChannel | undefined {
  if (!isObject(channel)) {
    problem('Subscription.channel', 'channel is required.');
    return undefined;
  }
  const custom = extensionsOf(channel['_type']).find((e) => e['url'] === CHANNEL_TYPE_EXTENSION);
  const endpoint = channel['endpoint'];
  if (custom !== undefined) {
    const coding = custom['valueCoding'];
    if (
      !isObject(coding) ||
      coding['system'] !== TESSERA_CHANNEL_TYPE_SYSTEM ||
      coding['code'] !== 'hl7v2-mllp'
    ) {
      problem(
        'Subscription.channel.type.extension:customChannelType',
        `The only custom channel type is ${TESSERA_CHANNEL_TYPE_SYSTEM}#hl7v2-mllp.`,
      );
      return undefined;
    }
    if (Array.isArray(channel['header']) && channel['header'].length > 0) {
      problem('Subscription.channel.header', 'Headers apply to rest-hook channels only; remove them.');
      return undefined;
    }
    const ok = checkMllpEndpoint(endpoint, options, problem);
    return ok ? { type: 'hl7v2-mllp', endpoint: endpoint as string } : undefined;
  }
  if (channel['type'] !== 'rest-hook') {
    problem(
      'Subscription.channel.type',
      `Supported channels: rest-hook, or the custom type ${TESSERA_CHANNEL_TYPE_SYSTEM}#hl7v2-mllp.`,
    );
    return undefined;
  }
  let ok = checkHttpsEndpoint(endpoint, options, problem);
  const payload = channel['payload'];
  if (typeof payload !== 'string' || payload.split(';')[0]?.trim().toLowerCase() !== FHIR_JSON) {
    problem('Subscription.channel.payload', `payload must be ${FHIR_JSON}.`);
    ok = false;
  }
  const contentExt = extensionsOf(channel['_payload']).find((e) => e['url'] === PAYLOAD_CONTENT_EXTENSION);
  const content = contentExt?.['valueCode'];
  if (content !== 'empty' && content !== 'id-only' && content !== 'full-resource') {
    problem(
      'Subscription.channel.payload.extension:content',
      'The backport-payload-content extension is required: empty, id-only or full-resource.',
    );
    ok = false;
  }
  const headers = parseHeaders(channel['header'], problem);
  if (!ok || headers === undefined) return undefined;
  return { type: 'rest-hook', endpoint: endpoint as string, payload: content as PayloadContent, headers };
}

function parseHeaders(value: unknown, problem: Problem): readonly string[] | undefined {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    problem('Subscription.channel.header', 'header is a list of "Name: value" strings.');
    return undefined;
  }
  if (value.length > SUBSCRIPTION_LIMITS.maxHeaders) {
    problem('Subscription.channel.header', `At most ${SUBSCRIPTION_LIMITS.maxHeaders} headers.`);
    return undefined;
  }
  let ok = true;
  const headers: string[] = [];
  value.forEach((h: unknown, i) => {
    const location = `Subscription.channel.header[${i}]`;
    const match =
      typeof h === 'string' && h.length <= SUBSCRIPTION_LIMITS.maxHeaderLength ? HEADER.exec(h) : null;
    if (match === null || typeof h !== 'string') {
      // The value may be a secret (Authorization): say what is wrong, never what was sent.
      problem(
        location,
        `A header is "Name: value" on one line, at most ${SUBSCRIPTION_LIMITS.maxHeaderLength} characters.`,
      );
      ok = false;
      return;
    }
    const name = match[1] ?? '';
    if (RESERVED_HEADERS.has(name.toLowerCase())) {
      problem(location, `The header ${name} is set by the exchange and cannot be overridden.`);
      ok = false;
      return;
    }
    headers.push(h);
  });
  return ok ? headers : undefined;
}

function isLoopback(hostname: string): boolean {
  const host = hostname.toLowerCase();
  if (host === 'localhost' || host === '[::1]' || host === '::1') return true;
  const v4 = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  return v4 !== null && v4.slice(1).every((o) => Number(o) <= 255);
}

function parseUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

/** IG "Channels", REST-Hook security notes: refuse http; Tessera allows it only to loopback in development. */
function checkHttpsEndpoint(
  endpoint: unknown,
  options: { readonly allowInsecureLoopback: boolean },
  problem: Problem,
): boolean {
  const location = 'Subscription.channel.endpoint';
  const url = typeof endpoint === 'string' ? parseUrl(endpoint) : undefined;
  if (url === undefined || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    problem(location, 'endpoint must be an absolute https:// URL.');
    return false;
  }
  if (url.username !== '' || url.password !== '') {
    problem(location, 'endpoint must not carry credentials; send them in a header instead.');
    return false;
  }
  if (url.protocol === 'http:' && !(options.allowInsecureLoopback && isLoopback(url.hostname))) {
    problem(
      location,
      'endpoint must use https:// (http:// is allowed only to loopback addresses in development).',
    );
    return false;
  }
  return true;
}

/** The v2 channel: mllps:// (MLLP over TLS), or mllp:// to loopback in development, with an explicit port. */
function checkMllpEndpoint(
  endpoint: unknown,
  options: { readonly allowInsecureLoopback: boolean },
  problem: Problem,
): boolean {
  const location = 'Subscription.channel.endpoint';
  const url = typeof endpoint === 'string' ? parseUrl(endpoint) : undefined;
  const port = url === undefined ? NaN : Number(url.port);
  if (
    url === undefined ||
    (url.protocol !== 'mllps:' && url.protocol !== 'mllp:') ||
    url.hostname === '' ||
    !Number.isInteger(port) ||
    port < 1 ||
    port > 65535 ||
    (url.pathname !== '' && url.pathname !== '/') ||
    url.search !== '' ||
    url.hash !== '' ||
    url.username !== '' ||
    url.password !== ''
  ) {
    problem(
      location,
      'The hl7v2-mllp endpoint is mllps://host:port (or mllp://host:port to loopback in development).',
    );
    return false;
  }
  if (url.protocol === 'mllp:' && !(options.allowInsecureLoopback && isLoopback(url.hostname))) {
    problem(
      location,
      'endpoint must use mllps:// (MLLP over TLS); mllp:// is allowed only to loopback in development.',
    );
    return false;
  }
  return true;
}

function integerExtension(
  extensions: readonly Json[],
  url: string,
  valueKey: 'valueUnsignedInt' | 'valuePositiveInt',
  location: string,
  min: number,
  max: number,
  problem: Problem,
): number | undefined {
  const ext = extensions.find((e) => e['url'] === url);
  if (ext === undefined) return undefined;
  const value = ext[valueKey];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    problem(location, `${valueKey} must be a whole number from ${min} to ${max}.`);
    return undefined;
  }
  return value;
}

export interface StoredSubscriptionView {
  readonly id: string;
  readonly request: SubscriptionRequest;
  readonly status: 'requested' | 'active' | 'error' | 'off';
  readonly error?: string; // text, no PHI
  readonly eventsSinceSubscriptionStart: number;
}

/** The filter criteria string of a stored request, in the form parseSubscription accepts. */
export function filterCriteria(request: SubscriptionRequest): string {
  const params = [
    `patient=${request.roster.kind === 'implicit' ? 'implicit' : `Group/${request.roster.groupId}`}`,
    ...(request.classes.length > 0 ? [`class=${request.classes.map(encodeURIComponent).join(',')}`] : []),
    ...(request.institutions.length > 0
      ? [`institution=${request.institutions.map(encodeURIComponent).join(',')}`]
      : []),
  ];
  return `${request.topic.resourceType}?${params.join('&')}`;
}

/**
 * The Subscription as GET returns it. `channel.header` is never returned (its values are the
 * subscriber's secrets); a client updating the subscription sends its headers again.
 * eventsSinceSubscriptionStart is reported by $status, not here (R4 Subscription has no element for it).
 */
export function subscriptionResource(view: StoredSubscriptionView): Subscription {
  const { request } = view;
  const channelExtensions: Extension[] = [
    ...(request.heartbeatPeriodSeconds !== undefined
      ? [{ url: HEARTBEAT_PERIOD_EXTENSION, valueUnsignedInt: request.heartbeatPeriodSeconds }]
      : []),
    ...(request.timeoutSeconds !== undefined
      ? [{ url: TIMEOUT_EXTENSION, valueUnsignedInt: request.timeoutSeconds }]
      : []),
    ...(request.maxCount !== undefined
      ? [{ url: MAX_COUNT_EXTENSION, valuePositiveInt: request.maxCount }]
      : []),
  ];
  const mllp = request.channel.type === 'hl7v2-mllp';
  const channel = {
    ...(channelExtensions.length > 0 ? { extension: channelExtensions } : {}),
    type: 'rest-hook' as const,
    ...(mllp
      ? {
          _type: {
            extension: [
              {
                url: CHANNEL_TYPE_EXTENSION,
                valueCoding: {
                  system: TESSERA_CHANNEL_TYPE_SYSTEM,
                  code: 'hl7v2-mllp',
                  display: 'HL7 v2 over MLLP',
                },
              },
            ],
          },
        }
      : {}),
    endpoint: request.channel.endpoint,
    payload: mllp ? HL7V2_ER7 : FHIR_JSON,
    _payload: {
      extension: [
        {
          url: PAYLOAD_CONTENT_EXTENSION,
          // A v2 message carries the event's content itself: the nearest IG code is full-resource.
          valueCode: request.channel.type === 'rest-hook' ? request.channel.payload : 'full-resource',
        },
      ],
    },
  };
  const subscription = {
    resourceType: 'Subscription' as const,
    id: view.id,
    meta: { profile: [BACKPORT_SUBSCRIPTION_PROFILE] },
    ...(request.name !== undefined
      ? { extension: [{ url: SUBSCRIPTION_NAME_EXTENSION, valueString: request.name }] }
      : {}),
    status: view.status,
    ...(request.end !== undefined ? { end: request.end } : {}),
    reason: request.reason ?? `${request.topic.title} notifications`,
    criteria: request.topic.url,
    _criteria: { extension: [{ url: FILTER_CRITERIA_EXTENSION, valueString: filterCriteria(request) }] },
    ...(view.error !== undefined && view.error !== '' ? { error: view.error } : {}),
    channel,
  };
  return subscription;
}
