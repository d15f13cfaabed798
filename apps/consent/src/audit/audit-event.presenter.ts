/**
 * Stored audit records as FHIR R4 AuditEvent resources, shaped after IHE BALP (Basic Audit Log
 * Patterns, https://profiles.ihe.net/ITI/BALP/): type/subtype codings, the requesting client and
 * its institution (and the asserted end user) as agents, the observing service as source, the
 * patient as an entity with role Patient, each other entity with its reference or query (and, for
 * an item, the institution that contributed it as a `source-institution` detail).
 */
import type {
  AuditEvent,
  AuditEventAgent,
  AuditEventEntity,
  Bundle,
  BundleLink,
  CodeableConcept,
  Coding,
  Extension,
} from '@medplum/fhirtypes';
import type { AuditRecordData } from '@tessera/platform-audit';

export type AuditType = AuditRecordData['type'];
export const AUDIT_TYPES: readonly AuditType[] = [
  'rest',
  'login',
  'security-alert',
  'consent-decision',
  'break-glass',
  'operator',
];

const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
const AUDIT_EVENT_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-event-type';
const RESTFUL_INTERACTION = 'http://hl7.org/fhir/restful-interaction';
const TESSERA_TYPE = 'https://tessera.example/fhir/CodeSystem/audit-event-type';
const TESSERA_SUBTYPE = 'https://tessera.example/fhir/CodeSystem/audit-event-subtype';
const TESSERA_ROLE = 'https://tessera.example/fhir/CodeSystem/operator-role';
const CHAIN_EXTENSION = 'https://tessera.example/fhir/StructureDefinition/audit-chain';
const DETAIL_EXTENSION = 'https://tessera.example/fhir/StructureDefinition/audit-detail';
const HIDDEN_EXTENSION = 'https://tessera.example/fhir/StructureDefinition/audit-hidden-count';
export const CLIENT_ID_SYSTEM = 'urn:tessera:client';
/** AuditEvent.entity.detail.type naming the institution that contributed the item (its source). */
export const SOURCE_INSTITUTION_DETAIL = 'source-institution';
export const INSTITUTION_ID_SYSTEM = 'urn:tessera:institution';

/** AuditEvent.type per record type (BALP: rest = FHIR interaction; DICOM codes for login and alerts). */
export const TYPE_CODINGS: Readonly<Record<AuditType, Coding>> = {
  rest: { system: AUDIT_EVENT_TYPE, code: 'rest', display: 'RESTful Operation' },
  login: { system: DCM, code: '110114', display: 'User Authentication' },
  'security-alert': { system: DCM, code: '110113', display: 'Security Alert' },
  'consent-decision': { system: TESSERA_TYPE, code: 'consent-decision', display: 'Consent decision' },
  'break-glass': { system: TESSERA_TYPE, code: 'break-glass', display: 'Break-the-glass access' },
  operator: { system: TESSERA_TYPE, code: 'operator', display: 'Operator action' },
};

/** FHIR restful-interaction codes (http://hl7.org/fhir/R4/codesystem-restful-interaction.html). */
const RESTFUL = new Set([
  'read',
  'vread',
  'update',
  'patch',
  'delete',
  'history',
  'history-instance',
  'history-type',
  'history-system',
  'create',
  'search',
  'search-type',
  'search-system',
  'capabilities',
  'transaction',
  'batch',
  'operation',
]);

/** The record type a `type=` token names: our code, a coding's code, or `system|code`. */
export function auditTypeOfToken(token: string): AuditType | undefined {
  const bar = token.lastIndexOf('|');
  const system = bar >= 0 ? token.slice(0, bar) : undefined;
  const code = bar >= 0 ? token.slice(bar + 1) : token;
  for (const type of AUDIT_TYPES) {
    const coding = TYPE_CODINGS[type];
    const matchesCoding =
      coding.code === code && (system === undefined || system === '' || system === coding.system);
    if (matchesCoding || (system === undefined && type === code)) return type;
  }
  return undefined;
}

export interface StoredAuditEvent {
  readonly seq: string;
  readonly eventId: string;
  readonly hash: string;
  readonly record: AuditRecordData;
}

function subtypeCoding(record: AuditRecordData): Coding {
  if (record.type === 'rest' && RESTFUL.has(record.subtype))
    return { system: RESTFUL_INTERACTION, code: record.subtype };
  if (record.type === 'login' && record.subtype === 'token')
    return { system: DCM, code: '110122', display: 'Login' };
  return { system: TESSERA_SUBTYPE, code: record.subtype };
}

function agents(record: AuditRecordData): AuditEventAgent[] {
  const { agent } = record;
  const result: AuditEventAgent[] = [];
  const roles: CodeableConcept[] = agent.roles.map((role) => ({
    coding: [{ system: TESSERA_ROLE, code: role }],
  }));
  // BALP client agent: the application that asked (requestor unless an end user is asserted).
  result.push({
    type: { coding: [{ system: DCM, code: '110153', display: 'Source Role ID' }] },
    ...(roles.length === 0 ? {} : { role: roles }),
    who: { identifier: { system: CLIENT_ID_SYSTEM, value: agent.clientId ?? 'unknown' } },
    requestor: agent.user === undefined,
    ...(agent.network === undefined ? {} : { network: { address: agent.network, type: '2' as const } }),
  });
  if (agent.institutionId !== null) {
    result.push({
      type: {
        coding: [
          {
            system: 'http://terminology.hl7.org/CodeSystem/v3-RoleClass',
            code: 'PROV',
            display: 'healthcare provider',
          },
        ],
      },
      who: {
        type: 'Organization',
        identifier: { system: INSTITUTION_ID_SYSTEM, value: agent.institutionId },
      },
      requestor: false,
    });
  }
  if (agent.user !== undefined) {
    // BALP user agent: the end user the institution asserted (X-Tessera-On-Behalf-Of), an opaque id.
    result.push({
      type: {
        coding: [
          {
            system: 'http://terminology.hl7.org/CodeSystem/extra-security-role-type',
            code: 'humanuser',
            display: 'human user',
          },
        ],
      },
      who: {
        identifier: {
          system: `${INSTITUTION_ID_SYSTEM}:${agent.institutionId ?? 'none'}:user`,
          value: agent.user,
        },
      },
      requestor: true,
    });
  }
  return result;
}

function entities(record: AuditRecordData): AuditEventEntity[] {
  const patients: AuditEventEntity[] = record.patients.map((eid) => ({
    what: { reference: `Patient/${eid}` },
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '1', display: 'Person' },
    role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '1', display: 'Patient' },
  }));
  const others: AuditEventEntity[] = record.entities.map((e) => ({
    ...(e.reference === undefined ? {} : { what: { reference: e.reference } }),
    ...(e.sourceInstitution === undefined
      ? {}
      : { detail: [{ type: SOURCE_INSTITUTION_DETAIL, valueString: e.sourceInstitution }] }),
    type: /^[A-Z][A-Za-z]+$/.test(e.type)
      ? { system: 'http://hl7.org/fhir/resource-types', code: e.type }
      : { system: 'https://tessera.example/fhir/CodeSystem/audit-entity-type', code: e.type },
    ...(e.query === undefined
      ? {}
      : {
          role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '24', display: 'Query' },
          // AuditEvent.entity.query is base64Binary.
          query: Buffer.from(e.query, 'utf8').toString('base64'),
        }),
  }));
  return [...patients, ...others];
}

/** One stored record as an AuditEvent (id = event id; chain position and hash in an extension). */
export function presentAuditEvent(row: StoredAuditEvent): AuditEvent {
  const { record } = row;
  const extension: Extension[] = [
    {
      url: CHAIN_EXTENSION,
      extension: [
        { url: 'seq', valueString: row.seq },
        { url: 'hash', valueString: row.hash },
      ],
    },
  ];
  if (record.detail !== undefined) extension.push({ url: DETAIL_EXTENSION, valueString: record.detail });
  if (record.hiddenCount !== undefined)
    extension.push({ url: HIDDEN_EXTENSION, valueUnsignedInt: record.hiddenCount });
  const purposes: CodeableConcept[] = [];
  if (record.purposeOfUse !== undefined) {
    purposes.push({
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: record.purposeOfUse }],
    });
  }
  if (record.breakGlass) {
    purposes.push({
      coding: [
        {
          system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason',
          code: 'BTG',
          display: 'break the glass',
        },
      ],
    });
  }
  return {
    resourceType: 'AuditEvent',
    id: row.eventId,
    extension,
    type: TYPE_CODINGS[record.type],
    subtype: [subtypeCoding(record)],
    action: record.action,
    recorded: record.recordedAt,
    outcome: record.outcome,
    ...(record.outcomeDesc === undefined ? {} : { outcomeDesc: record.outcomeDesc }),
    ...(purposes.length === 0 ? {} : { purposeOfEvent: purposes }),
    agent: agents(record),
    source: {
      observer: { display: record.observer },
      type: [
        {
          system: 'http://terminology.hl7.org/CodeSystem/security-source-type',
          code: '4',
          display: 'Application Server',
        },
      ],
    },
    entity: entities(record),
  };
}

/** A searchset Bundle with an exact total and self/next/previous links (offset paging). */
export function auditSearchBundle(
  rows: readonly StoredAuditEvent[],
  total: number,
  selfUrl: URL,
  count: number,
  offset: number,
): Bundle<AuditEvent> {
  const page = (at: number): string => {
    const url = new URL(selfUrl.toString());
    url.searchParams.set('_offset', String(at));
    url.searchParams.set('_count', String(count));
    return url.toString();
  };
  const link: BundleLink[] = [{ relation: 'self', url: selfUrl.toString() }];
  if (count > 0 && offset + rows.length < total) link.push({ relation: 'next', url: page(offset + count) });
  if (offset > 0) link.push({ relation: 'previous', url: page(Math.max(0, offset - count)) });
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    total,
    link,
    entry: rows.map((row) => ({
      fullUrl: `${selfUrl.origin}/AuditEvent/${row.eventId}`,
      resource: presentAuditEvent(row),
      search: { mode: 'match' as const },
    })),
  };
}
