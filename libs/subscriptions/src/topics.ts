import type { Basic, Extension, Resource } from '@medplum/fhirtypes';

/**
 * The notification topics the exchange publishes (Subscriptions R5 Backport IG, "Topics": a
 * subscription names exactly one topic by its canonical URL in `Subscription.criteria`).
 */
export type NotificationTopicCode =
  | 'admission'
  | 'discharge'
  | 'emergency-arrival'
  | 'emergency-departure'
  | 'transfer'
  | 'encounter-update'
  | 'new-document'
  | 'new-result'
  | 'referral-change';

export interface NotificationTopic {
  readonly code: NotificationTopicCode;
  /** Canonical URL: `urn:tessera:subscription-topic:<code>` (see TOPIC_URL_PREFIX). */
  readonly url: string;
  readonly title: string;
  readonly description: string;
  /** Focus resource type: Encounter | DocumentReference | DiagnosticReport | ServiceRequest (referral). */
  readonly resourceType: 'Encounter' | 'DocumentReference' | 'DiagnosticReport' | 'ServiceRequest';
  /** Filter parameters this topic accepts (name → documentation). */
  readonly filters: readonly { readonly name: string; readonly documentation: string }[];
}

/**
 * Topic canonical URLs are URNs under this prefix, followed by the topic code. A URN, not an http
 * address, because the exchange has no public definition server to point at, and a canonical must
 * never change once subscribers store it (Subscriptions R5 Backport IG, "Topics": the canonical URL
 * is the topic's identity).
 */
export const TOPIC_URL_PREFIX = 'urn:tessera:subscription-topic:';

const PATIENT_FILTER = {
  name: 'patient',
  documentation:
    "Required. Whose events: 'Group/[roster id]' (a roster the subscriber uploaded) or 'implicit' (every person " +
    'the subscribing institution holds a record of).',
} as const;
const CLASS_FILTER = {
  name: 'class',
  documentation:
    'Optional. Encounter class codes (v3 ActCode: IMP, ACUTE, NONAC, EMER, AMB, OBSENC, PRENC, SS, HH, VR), ' +
    'comma-separated = any of them. Absent = every class.',
} as const;
const INSTITUTION_FILTER = {
  name: 'institution',
  documentation:
    'Optional. Tessera institution ids where the event happened, comma-separated = any of them. Absent = every ' +
    'institution.',
} as const;

function topic(
  code: NotificationTopicCode,
  title: string,
  description: string,
  resourceType: NotificationTopic['resourceType'],
): NotificationTopic {
  const encounter = resourceType === 'Encounter';
  return {
    code,
    url: `${TOPIC_URL_PREFIX}${code}`,
    title,
    description,
    resourceType,
    filters: encounter
      ? [PATIENT_FILTER, CLASS_FILTER, INSTITUTION_FILTER]
      : [PATIENT_FILTER, INSTITUTION_FILTER],
  };
}

export const NOTIFICATION_TOPICS: readonly NotificationTopic[] = [
  topic(
    'admission',
    'Admission',
    'An inpatient stay (class IMP, ACUTE or NONAC) started: first seen in progress, or changed to inpatient.',
    'Encounter',
  ),
  topic(
    'discharge',
    'Discharge',
    'An inpatient stay finished, or was closed by rule after its class\u2019s longest open period.',
    'Encounter',
  ),
  topic(
    'emergency-arrival',
    'Emergency arrival',
    'A person arrived at an emergency department (class EMER).',
    'Encounter',
  ),
  topic(
    'emergency-departure',
    'Emergency departure',
    'An emergency visit finished, or was closed by rule after its class\u2019s longest open period.',
    'Encounter',
  ),
  topic('transfer', 'Transfer', 'A person in an open visit moved to another location.', 'Encounter'),
  topic(
    'encounter-update',
    'Encounter update',
    'Any other change to a visit (updates, cancellations, class changes that start nothing); a storm of ' +
      'updates about one visit is coalesced into one notification.',
    'Encounter',
  ),
  topic(
    'new-document',
    'New document',
    'A clinical document was registered for the person.',
    'DocumentReference',
  ),
  topic(
    'new-result',
    'New result',
    'A diagnostic report (result) was received for the person.',
    'DiagnosticReport',
  ),
  topic(
    'referral-change',
    'Referral change',
    'A referral was created or its status changed.',
    'ServiceRequest',
  ),
];

const BY_CODE = new Map<string, NotificationTopic>(NOTIFICATION_TOPICS.map((t) => [t.code, t]));
const BY_URL = new Map<string, NotificationTopic>(NOTIFICATION_TOPICS.map((t) => [t.url, t]));

export function topicByCode(code: string): NotificationTopic | undefined {
  return BY_CODE.get(code);
}

export function topicByUrl(url: string): NotificationTopic | undefined {
  return BY_URL.get(url);
}

/** Extensions from the FHIR Extensions Pack for artifact metadata on non-canonical resources (Basic). */
export const ARTIFACT_URL_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/artifact-url';
export const ARTIFACT_TITLE_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/artifact-title';
export const ARTIFACT_DESCRIPTION_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/artifact-description';
export const ARTIFACT_STATUS_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/artifact-status';
/**
 * Tessera mirrors of the R5 SubscriptionTopic.resourceTrigger and .canFilterBy backbones (same
 * sub-extension names as R5). The IG's R4 topic example carries these as R5 cross-version extensions
 * (http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.*); an R4 validator
 * without the R5 cross-version package rejects those URLs, so Tessera states the same content under
 * its own URLs. Clients discover topics by canonical URL (CapabilityStatement), not by these.
 */
export const TOPIC_RESOURCE_TRIGGER_EXTENSION =
  'https://tessera.example/fhir/StructureDefinition/subscription-topic-resource-trigger';
export const TOPIC_CAN_FILTER_BY_EXTENSION =
  'https://tessera.example/fhir/StructureDefinition/subscription-topic-can-filter-by';
/** IG "Capability Statements": advertises a supported topic on CapabilityStatement.rest.resource (Subscription). */
export const CAPABILITY_TOPIC_EXTENSION =
  'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/capabilitystatement-subscriptiontopic-canonical';

/**
 * How the exchange serves a topic to R4 clients. Subscriptions R5 Backport IG, "Topics" and its R4
 * example topic: R4 has no SubscriptionTopic resource, so a topic may be served as a `Basic` whose
 * code is fhir-types#SubscriptionTopic, its canonical URL in `artifact-url` and its status in the
 * `artifact-status` modifier extension, which is what this returns. Title and description use the
 * matching artifact-* extensions; trigger and filters use Tessera's mirrors (see above).
 */
export function topicResource(t: NotificationTopic): Resource {
  const trigger: Extension = {
    url: TOPIC_RESOURCE_TRIGGER_EXTENSION,
    extension: [
      { url: 'description', valueMarkdown: t.description },
      { url: 'resource', valueUri: `http://hl7.org/fhir/StructureDefinition/${t.resourceType}` },
      { url: 'supportedInteraction', valueCode: 'create' },
      { url: 'supportedInteraction', valueCode: 'update' },
    ],
  };
  const filters: Extension[] = t.filters.map((f) => ({
    url: TOPIC_CAN_FILTER_BY_EXTENSION,
    extension: [
      { url: 'description', valueMarkdown: f.documentation },
      { url: 'resource', valueUri: t.resourceType },
      { url: 'filterParameter', valueString: f.name },
    ],
  }));
  const basic: Basic = {
    resourceType: 'Basic',
    id: `subscription-topic-${t.code}`,
    text: {
      status: 'generated',
      div: `<div xmlns="http://www.w3.org/1999/xhtml"><p>Subscription topic ${escapeXml(t.title)}: ${escapeXml(t.description)}</p></div>`,
    },
    extension: [
      { url: ARTIFACT_URL_EXTENSION, valueUri: t.url },
      { url: ARTIFACT_TITLE_EXTENSION, valueString: t.title },
      { url: ARTIFACT_DESCRIPTION_EXTENSION, valueMarkdown: t.description },
      trigger,
      ...filters,
    ],
    modifierExtension: [{ url: ARTIFACT_STATUS_EXTENSION, valueCode: 'active' }],
    code: { coding: [{ system: 'http://hl7.org/fhir/fhir-types', code: 'SubscriptionTopic' }] },
  };
  return basic;
}

/**
 * One extension per topic, to place on the CapabilityStatement's `rest.resource` entry for
 * Subscription (IG "Capability Statements": R4 servers advertise topics by canonical URL there).
 */
export function capabilityTopicExtensions(): Extension[] {
  return NOTIFICATION_TOPICS.map((t) => ({ url: CAPABILITY_TOPIC_EXTENSION, valueCanonical: t.url }));
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
