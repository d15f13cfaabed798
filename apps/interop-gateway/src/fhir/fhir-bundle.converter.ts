import { createHash } from 'node:crypto';
import type {
  DiagnosticReport,
  DocumentReference,
  Encounter,
  Observation,
  Patient,
} from '@medplum/fhirtypes';
import type { SenderAuthentication } from '@tessera/contracts';
import { deterministicId } from '@tessera/v2-fhir';
import type { Institution } from '../institutions/institution';
import type { CanonicalEvent } from '../mapping/canonical-events';
import type { MappingDecision } from '../mapping/mapping-outcome.policy';
import type { ReferenceInput, ValidBundle, ValidEntry } from './fhir-bundle.schema';
import { entryKeys, registeredSystems, validateBundle } from './fhir-bundle.schema';

/** Version of the FHIR ingest rules (ledger mapper_version and events' mapperVersion of FHIR submissions). */
export const FHIR_INGEST_VERSION = 'fhir-r4-ingest/1.0.0';

interface PatientIdentity {
  readonly system: string;
  readonly value: string;
}

export interface ConvertedBundle {
  readonly events: readonly CanonicalEvent[];
  /** `Type/id` assigned to every entry, in entry order (the transaction-response locations). */
  readonly locations: readonly string[];
  /** Kafka key of the first patient (the ledger row's partition key). */
  readonly partitionKey: string;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A deep copy with every `reference` that names an entry of the Bundle rewritten to its assigned `Type/id`. */
function rewriteReferences(value: Json, references: ReadonlyMap<string, string>): Json {
  if (Array.isArray(value)) return value.map((v) => rewriteReferences(v, references));
  if (value === null || typeof value !== 'object') return value;
  const out: { [key: string]: Json } = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] =
      key === 'reference' && typeof v === 'string'
        ? (references.get(v) ?? v)
        : rewriteReferences(v, references);
  }
  return out;
}

function firstIdentifier(
  list: ReadonlyArray<{ system?: string; value?: string }> | undefined,
): PatientIdentity | undefined {
  const found = list?.find((i) => i.system !== undefined && i.value !== undefined);
  return found === undefined ? undefined : { system: found.system!, value: found.value! };
}

/**
 * Resource ids are deterministic (as in v2-fhir): Patient by its registered identifier, Encounter /
 * Observation / DiagnosticReport by their first identifier, DocumentReference by masterIdentifier
 * (the same ids the HL7 v2 mapper gives the same business keys), else by the sender's id, else by
 * fullUrl, else by the Bundle's content hash and entry index: a re-POST or a replay gives equal ids.
 */
function assignId(
  entry: ValidEntry,
  institution: Institution,
  systems: readonly string[],
  contentSha256: string,
): string {
  const r = entry.resource;
  const type = r.resourceType;
  let key: PatientIdentity | undefined;
  switch (r.resourceType) {
    case 'Patient':
      key = patientIdentity(r.identifier, systems);
      break;
    case 'DocumentReference':
      key = firstIdentifier(r.masterIdentifier === undefined ? undefined : [r.masterIdentifier]);
      break;
    case 'Encounter':
    case 'Observation':
    case 'DiagnosticReport':
      key = firstIdentifier(r.identifier);
      break;
    case 'Binary':
      return deterministicId(
        type,
        institution.id,
        'sha256',
        createHash('sha256').update(Buffer.from(r.data, 'base64')).digest('hex'),
      );
    case 'MessageHeader':
      break;
  }
  if (key !== undefined) return deterministicId(type, institution.id, key.system, key.value);
  if (r.id !== undefined) return deterministicId(type, institution.id, 'fhir-id', r.id);
  if (entry.fullUrl !== undefined)
    return deterministicId(type, institution.id, 'fhir-fullUrl', entry.fullUrl);
  return deterministicId(type, institution.id, 'bundle', contentSha256, String(entry.index));
}

/** The local patient identifier: the default authority's system first, then the others in order. */
function patientIdentity(
  identifiers: ReadonlyArray<{ system?: string; value?: string }>,
  systems: readonly string[],
): PatientIdentity | undefined {
  for (const system of systems) {
    const found = identifiers.find((i) => i.system === system && i.value !== undefined);
    if (found !== undefined) return { system, value: found.value! };
  }
  return undefined;
}

interface PatientGroup {
  readonly identity: PatientIdentity;
  patient?: Patient;
  readonly encounters: Encounter[];
  readonly reports: DiagnosticReport[];
  readonly observations: Observation[];
  readonly documents: Array<{ document: DocumentReference; content: { contentType: string; bytes: Buffer } }>;
}

/**
 * Converts a validated Bundle into canonical events (grouped per patient: Patient, Encounters,
 * results, documents) with deterministic ids and references rewritten to them. Document bytes
 * (inline data or the referenced Binary) travel in DocumentPublished.content; the
 * DocumentReference keeps contentType, size and the SHA-1 hash (R4 Attachment.hash) instead.
 */
export function convertBundle(
  bundle: ValidBundle,
  institution: Institution,
  ledgerId: string,
  contentSha256: string,
  senderAuthentication: SenderAuthentication = 'access-token',
): ConvertedBundle {
  const systems = registeredSystems(institution);
  const ids = new Map<number, string>();
  const references = new Map<string, string>();
  for (const entry of bundle.entries) {
    const id = assignId(entry, institution, systems, contentSha256);
    ids.set(entry.index, id);
    for (const key of entryKeys(entry)) references.set(key, `${entry.resource.resourceType}/${id}`);
  }
  const byKey = new Map<string, ValidEntry>();
  for (const entry of bundle.entries) for (const key of entryKeys(entry)) byKey.set(key, entry);

  const groups = new Map<string, PatientGroup>();
  const groupOf = (identity: PatientIdentity): PatientGroup => {
    const key = `${identity.system}|${identity.value}`;
    let group = groups.get(key);
    if (group === undefined) {
      group = { identity, encounters: [], reports: [], observations: [], documents: [] };
      groups.set(key, group);
    }
    return group;
  };
  const identityOfSubject = (subject: ReferenceInput): PatientIdentity => {
    const target = subject.reference === undefined ? undefined : byKey.get(subject.reference);
    if (target?.resource.resourceType === 'Patient')
      return patientIdentity(target.resource.identifier, systems)!;
    return { system: subject.identifier!.system!, value: subject.identifier!.value! };
  };
  const rewritten = <T>(entry: ValidEntry): T => {
    const copy = rewriteReferences(entry.resource as unknown as Json, references) as { [key: string]: Json };
    return { ...copy, id: ids.get(entry.index)! } as unknown as T;
  };
  /** A logical subject (identifier only) gets the reference of the deterministic Patient id. */
  const withSubject = <T extends { subject?: unknown }>(resource: T, identity: PatientIdentity): T => ({
    ...resource,
    subject: {
      ...(resource.subject as object),
      reference: `Patient/${deterministicId('Patient', institution.id, identity.system, identity.value)}`,
    },
  });

  for (const entry of bundle.entries) {
    const r = entry.resource;
    switch (r.resourceType) {
      case 'Patient':
        groupOf(patientIdentity(r.identifier, systems)!).patient = rewritten<Patient>(entry);
        break;
      case 'Encounter': {
        const identity = identityOfSubject(r.subject);
        groupOf(identity).encounters.push(withSubject(rewritten<Encounter>(entry), identity));
        break;
      }
      case 'Observation': {
        const identity = identityOfSubject(r.subject);
        groupOf(identity).observations.push(withSubject(rewritten<Observation>(entry), identity));
        break;
      }
      case 'DiagnosticReport': {
        const identity = identityOfSubject(r.subject);
        groupOf(identity).reports.push(withSubject(rewritten<DiagnosticReport>(entry), identity));
        break;
      }
      case 'DocumentReference': {
        const identity = identityOfSubject(r.subject);
        const first = r.content[0].attachment;
        const binary = first.data === undefined ? byKey.get(first.url!)?.resource : undefined;
        const bytes = Buffer.from(
          first.data ?? (binary?.resourceType === 'Binary' ? binary.data : ''),
          'base64',
        );
        const contentType =
          first.contentType ??
          (binary?.resourceType === 'Binary' ? binary.contentType : 'application/octet-stream');
        const document = withSubject(rewritten<DocumentReference>(entry), identity);
        const content = (document.content ?? []).map((c, i) => {
          const { data: _data, url: _url, ...kept } = c.attachment;
          return i === 0
            ? {
                ...c,
                attachment: {
                  ...kept,
                  contentType,
                  size: bytes.length,
                  hash: createHash('sha1').update(bytes).digest('base64'),
                },
              }
            : { ...c, attachment: kept };
        });
        groupOf(identity).documents.push({
          document: { ...document, content },
          content: { contentType, bytes },
        });
        break;
      }
      case 'Binary':
      case 'MessageHeader':
        break;
    }
  }

  const events: CanonicalEvent[] = [];
  for (const group of groups.values()) {
    const common = {
      institutionId: institution.id,
      patientSystem: group.identity.system,
      localPatientId: group.identity.value,
      sourceMessageId: ledgerId,
      mapperVersion: FHIR_INGEST_VERSION,
      channel: 'fhir' as const,
      senderAuthentication,
    };
    if (group.patient !== undefined)
      events.push({ kind: 'patient-upserted', data: { ...common, patient: group.patient } });
    for (const encounter of group.encounters)
      events.push({ kind: 'encounter-upserted', data: { ...common, encounter } });
    if (group.reports.length > 0 || group.observations.length > 0) {
      events.push({
        kind: 'observation-reported',
        data: { ...common, reports: group.reports, observations: group.observations },
      });
    }
    for (const { document, content } of group.documents) {
      events.push({
        kind: 'document-published',
        data: {
          ...common,
          document,
          content: {
            contentType: content.contentType,
            sha256: createHash('sha256').update(content.bytes).digest('hex'),
            size: content.bytes.length,
            base64: content.bytes.toString('base64'),
          },
        },
      });
    }
  }
  const firstGroup = groups.values().next().value;
  return {
    events,
    locations: bundle.entries.map((e) => `${e.resource.resourceType}/${ids.get(e.index)!}`),
    partitionKey: firstGroup === undefined ? '' : `${institution.id}|${firstGroup.identity.value}`,
  };
}

/** Parses raw Bundle bytes (UTF-8 JSON). Undefined when they are not JSON. */
export function parseBundleJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * A stored FHIR submission through the current rules (replay): the same decision shape as an HL7 v2
 * message. `systemsOfOthers`: the identifier systems only other institutions registered
 * (InstitutionRegistry.identifierSystemsOfOthers), refused as at ingest.
 */
export function decideFhirBundle(
  raw: Buffer,
  institution: Institution | undefined,
  ledgerId: string,
  senderAuthentication: SenderAuthentication = 'access-token',
  systemsOfOthers: ReadonlySet<string> = new Set(),
): MappingDecision {
  const failed = (detail: string): MappingDecision => ({
    status: 'failed',
    mapperVersion: FHIR_INGEST_VERSION,
    detail,
  });
  if (institution === undefined)
    return failed('The submitting institution is not registered: register it (admin API) and replay.');
  const json = parseBundleJson(raw);
  if (json === undefined) return failed('The stored Bundle is not valid JSON.');
  const validation = validateBundle(json, institution, systemsOfOthers);
  if (!validation.ok) {
    return failed(
      `Not accepted (${FHIR_INGEST_VERSION}): ${validation.issues.map((i) => `${i.expression ?? 'Bundle'}: ${i.diagnostics}`).join('; ')}`.slice(
        0,
        2000,
      ),
    );
  }
  const sha = createHash('sha256').update(raw).digest('hex');
  const converted = convertBundle(validation.bundle, institution, ledgerId, sha, senderAuthentication);
  return {
    status: 'mapped',
    mapperVersion: FHIR_INGEST_VERSION,
    events: converted.events,
    warnings: [],
    detail: null,
  };
}
