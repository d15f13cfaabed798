import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Encounter, Parameters, Resource } from '@medplum/fhirtypes';
import {
  CLOSED_BY_RULE_TAG,
  NOTIFICATION_TOPICS,
  capabilityTopicExtensions,
  notificationBundle,
  parseSubscription,
  rosterGroupResource,
  statusBundle,
  subscriptionResource,
  subscriptionStatusParameters,
  topicByCode,
  topicResource,
} from './index';
import type { SubscriptionRequest } from './index';

/*
 * Independent check: every resource this library renders is validated by the HAPI FHIR R4
 * validator (tools/fhir-validator, offline) in ONE JVM run, and must have zero errors.
 *
 * The validator knows FHIR R4 core only: the Subscriptions Backport IG package is not available
 * offline, so the IG's profiles cannot be resolved. The resources are therefore validated against
 * base R4, after removing the IG profile claims from meta.profile (an unresolvable profile is an
 * error to HAPI); the test asserts the claims were there. The IG's extensions are checked for shape
 * by base R4 rules only (Extension: url plus one value or sub-extensions).
 */
const REPO_ROOT = join(__dirname, '..', '..', '..');
const POM = join(REPO_ROOT, 'tools', 'fhir-validator', 'pom.xml');
const JAR = join(REPO_ROOT, 'tools', 'fhir-validator', 'target', 'fhir-validator.jar');
/** Set SUBSCRIPTIONS_VALIDATION_DIR to keep the resource files (and inspect the validator's warnings). */
const KEEP_DIR = process.env['SUBSCRIPTIONS_VALIDATION_DIR'];
const IG_PROFILE_PREFIX = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/';

interface ValidatorIssue {
  readonly location: string;
  readonly message: string;
}
interface ValidatorReport {
  readonly files: readonly { readonly file: string; readonly errors: readonly ValidatorIssue[] }[];
  readonly fileCount: number;
}

const ENCOUNTER: Encounter = {
  resourceType: 'Encounter',
  id: 'enc-synthetic-1',
  status: 'in-progress',
  class: {
    system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
    code: 'IMP',
    display: 'inpatient encounter',
  },
  subject: { reference: 'Patient/ent-synthetic-1' },
  period: { start: '2026-03-01T08:00:00Z' },
  location: [
    {
      location: {
        identifier: { system: 'urn:tessera:location:hosp-a', value: 'WARD3^201^A' },
        display: 'WARD3^201^A',
      },
      status: 'active',
    },
  ],
};

function subscriptionInput(
  channel: Record<string, unknown>,
  criteria = 'Encounter?patient=Group/roster-1&class=IMP',
): unknown {
  return {
    resourceType: 'Subscription',
    status: 'requested',
    reason: 'Synthetic test subscription',
    end: '2027-01-31T00:00:00Z',
    criteria: topicByCode('admission')!.url,
    _criteria: {
      extension: [
        {
          url: 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-filter-criteria',
          valueString: criteria,
        },
      ],
    },
    channel: {
      extension: [
        {
          url: 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-heartbeat-period',
          valueUnsignedInt: 3600,
        },
        {
          url: 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-timeout',
          valueUnsignedInt: 30,
        },
        {
          url: 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-max-count',
          valuePositiveInt: 20,
        },
      ],
      ...channel,
    },
  };
}

function restHook(content: string): Record<string, unknown> {
  return {
    type: 'rest-hook',
    endpoint: 'https://receiver.example.org/tessera/notifications',
    payload: 'application/fhir+json',
    _payload: {
      extension: [
        {
          url: 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content',
          valueCode: content,
        },
      ],
    },
    header: ['Authorization: Bearer synthetic-token'],
  };
}

const MLLP: Record<string, unknown> = {
  type: 'rest-hook',
  _type: {
    extension: [
      {
        url: 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-channel-type',
        valueCoding: {
          system: 'https://tessera.example/fhir/CodeSystem/subscription-channel-type',
          code: 'hl7v2-mllp',
        },
      },
    ],
  },
  endpoint: 'mllps://v2.receiver.example.org:2575',
};

function parsed(resource: unknown): SubscriptionRequest {
  const result = parseSubscription(resource, { allowInsecureLoopback: false });
  if (Array.isArray(result)) throw new Error(`unexpected problems: ${JSON.stringify(result)}`);
  return result as SubscriptionRequest;
}

/** Every resource the library renders, by file name. */
function renderedResources(): Record<string, Resource> {
  const out: Record<string, Resource> = {};
  for (const t of NOTIFICATION_TOPICS) out[`topic-${t.code}`] = topicResource(t);
  out['capability-statement'] = {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: '2026-03-01',
    kind: 'instance',
    fhirVersion: '4.0.1',
    format: ['json'],
    implementation: { description: 'Tessera notifications (synthetic)' },
    rest: [{ mode: 'server', resource: [{ type: 'Subscription', extension: capabilityTopicExtensions() }] }],
  };
  const channels: Record<string, unknown> = {
    'rest-hook-empty': subscriptionInput(restHook('empty')),
    'rest-hook-id-only': subscriptionInput(restHook('id-only')),
    'rest-hook-full-resource': subscriptionInput(
      restHook('full-resource'),
      'Encounter?patient=implicit&institution=hosp-a,hosp-b',
    ),
    'hl7v2-mllp': subscriptionInput(MLLP),
  };
  for (const [name, input] of Object.entries(channels)) {
    out[`subscription-${name}`] = subscriptionResource({
      id: `sub-${name}`,
      request: { ...parsed(input), name: `Synthetic ${name}` },
      status: name === 'hl7v2-mllp' ? 'error' : 'active',
      ...(name === 'hl7v2-mllp' ? { error: 'The endpoint refused the connection.' } : {}),
      eventsSinceSubscriptionStart: 3,
    });
  }
  out['roster-group'] = rosterGroupResource({
    id: 'roster-1',
    name: 'Synthetic panel',
    versionId: 2,
    ownerInstitution: 'hosp-a',
    members: [
      { system: 'urn:oid:2.16.840.1.113883.19.5', value: 'MRN-0001', resolved: true },
      { system: 'urn:oid:2.16.840.1.113883.19.5', value: 'MRN-0002', resolved: false },
    ],
  });
  const topicUrl = topicByCode('admission')!.url;
  const common = {
    timestamp: '2026-03-01T08:00:05Z',
    subscription: { reference: 'Subscription/sub-1' },
    topicUrl,
    status: 'active' as const,
  };
  const event = {
    eventNumber: 7,
    timestamp: '2026-03-01T08:00:01Z',
    focus: { reference: 'Encounter/enc-synthetic-1' },
    additionalContext: [{ reference: 'Patient/ent-synthetic-1' }],
    resources: [ENCOUNTER],
  };
  out['bundle-handshake'] = notificationBundle({
    ...common,
    bundleId: '0f8fad5b-d9cb-469f-a165-70867728950e',
    status: 'requested',
    type: 'handshake',
    eventsSinceSubscriptionStart: 0,
    events: [],
    payload: 'id-only',
  });
  out['bundle-heartbeat'] = notificationBundle({
    ...common,
    bundleId: '7c9e6679-7425-40de-944b-e07fc1f90ae7',
    type: 'heartbeat',
    eventsSinceSubscriptionStart: 7,
    events: [],
    payload: 'empty',
  });
  out['bundle-event-empty'] = notificationBundle({
    ...common,
    bundleId: 'a3bb189e-8bf9-4888-9912-ace4e6543002',
    type: 'event-notification',
    eventsSinceSubscriptionStart: 7,
    events: [event],
    payload: 'empty',
  });
  out['bundle-event-id-only'] = notificationBundle({
    ...common,
    bundleId: 'e02fd0e4-00fd-490e-a8b7-4c61c5c0b1a8',
    type: 'event-notification',
    eventsSinceSubscriptionStart: 7,
    events: [event],
    payload: 'id-only',
  });
  out['bundle-event-full-resource'] = notificationBundle({
    ...common,
    bundleId: 'b6f1f0a4-2f0e-4b7a-9a3b-3b0e2c6d9f10',
    type: 'event-notification',
    eventsSinceSubscriptionStart: 7,
    events: [event],
    payload: 'full-resource',
    baseUrl: 'https://tessera.example/fhir',
    tags: [CLOSED_BY_RULE_TAG],
  });
  // No base URL and a bundle id that is not a UUID: the name-based urn:uuid fullUrls must hold too.
  out['bundle-event-full-resource-no-base'] = notificationBundle({
    ...common,
    bundleId: 'notif-42',
    type: 'event-notification',
    eventsSinceSubscriptionStart: 8,
    events: [{ ...event, eventNumber: 8 }],
    payload: 'full-resource',
  });
  const statuses: Parameters[] = [
    subscriptionStatusParameters({
      ...common,
      type: 'query-status',
      eventsSinceSubscriptionStart: 7,
      events: [],
    }),
    subscriptionStatusParameters({
      ...common,
      subscription: { reference: 'Subscription/sub-2' },
      status: 'error',
      type: 'query-status',
      eventsSinceSubscriptionStart: 2,
      events: [],
      errors: ['The endpoint did not answer within the timeout.'],
    }),
  ];
  out['bundle-status'] = statusBundle(statuses);
  return out;
}

/** Removes the IG profile claims (asserting at least one was there) so base R4 can validate the rest. */
function withoutIgProfiles(value: unknown, found: { count: number }): unknown {
  if (Array.isArray(value)) return value.map((v) => withoutIgProfiles(v, found));
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === 'meta' && typeof v === 'object' && v !== null) {
      const meta = { ...(v as Record<string, unknown>) };
      const profiles = Array.isArray(meta['profile']) ? (meta['profile'] as string[]) : [];
      const kept = profiles.filter((p) => !p.startsWith(IG_PROFILE_PREFIX));
      found.count += profiles.length - kept.length;
      if (kept.length > 0) meta['profile'] = kept;
      else delete meta['profile'];
      if (Object.keys(meta).length > 0) out[k] = meta;
      continue;
    }
    out[k] = withoutIgProfiles(v, found);
  }
  return out;
}

describe('HAPI FHIR R4 validation of the subscription resources', () => {
  let dir: string;

  beforeAll(() => {
    if (!existsSync(JAR)) execFileSync('mvn', ['-q', '-B', '-f', POM, 'package'], { stdio: 'inherit' });
    dir = KEEP_DIR ?? mkdtempSync(join(tmpdir(), 'subscriptions-validate-'));
    mkdirSync(dir, { recursive: true });
  });

  afterAll(() => {
    if (KEEP_DIR === undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('every rendered topic, subscription, roster and notification validates with zero errors', () => {
    const resources = renderedResources();
    const found = { count: 0 };
    for (const [name, resource] of Object.entries(resources)) {
      writeFileSync(join(dir, `${name}.json`), JSON.stringify(withoutIgProfiles(resource, found), null, 2));
    }
    // 4 subscriptions + 6 notification bundles with their status Parameters + 2 $status Parameters.
    expect(found.count).toBe(4 + 6 * 2 + 2);

    const run = spawnSync('java', ['-jar', JAR, dir], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    expect(run.error).toBeUndefined();
    const report = JSON.parse(run.stdout) as ValidatorReport;
    expect(report.fileCount).toBe(Object.keys(resources).length);
    const errors = report.files.flatMap((f) =>
      f.errors.map((e) => `${f.file.slice(dir.length + 1)}: ${e.location}: ${e.message}`),
    );
    if (errors.length > 0) console.error(`FHIR validation errors:\n${errors.join('\n')}`);
    expect(errors).toEqual([]);
    expect(run.status).toBe(0);
  });
});
