import type {
  DiagnosticReport,
  DocumentReference,
  Encounter,
  Observation,
  Patient,
} from '@medplum/fhirtypes';
import { z } from 'zod';
import { defineEvent } from './envelope';
import { Topics } from './topics';

/**
 * Event payload schemas. FHIR resources inside events are checked for their resourceType here
 * (structural validation of FHIR belongs to the mapper's tests and the FHIR validator); the
 * TypeScript type comes from @medplum/fhirtypes, never hand-written.
 */
function fhirResource<T extends { resourceType: string }>(resourceType: T['resourceType']) {
  return z.looseObject({ resourceType: z.literal(resourceType) }).transform((value) => value as unknown as T);
}

const isoInstant = z.iso.datetime({ offset: true });
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'expected a lowercase hex SHA-256 digest');

/**
 * How the gateway knew which institution sent a message or Bundle (docs/security-review.md, "Trust
 * model"): a verified TLS client certificate naming the institution, a source address on the
 * institution's allow-list of its own port, a loopback connection to a development listener, the
 * institution's access token (FHIR ingest, batch upload), or nothing (a shared port an operator
 * explicitly opened without authentication: MSH-4 was believed). Only an authenticated sender earns
 * the powers of holding a record (recording consent for it, its part of the audit trail).
 */
export const SenderAuthentication = z.enum([
  'tls-client-certificate',
  'ip-allow-list',
  'loopback',
  'access-token',
  'none',
]);
export type SenderAuthentication = z.infer<typeof SenderAuthentication>;

/** Whether records sent this way earn holder powers; an event from before feeds were authenticated counts as 'none'. */
export function isAuthenticatedSender(method: SenderAuthentication | undefined): boolean {
  return method !== undefined && method !== 'none';
}

/** The part every canonical clinical event shares: where it came from and which mapper made it. */
const sourceProvenance = z.object({
  /** How the sender was authenticated; absent on events recorded before this field existed (= 'none'). */
  senderAuthentication: SenderAuthentication.optional(),
  institutionId: z.string().min(1),
  /** Assigning authority system (URI or urn:oid:) of the local patient id. */
  patientSystem: z.string().min(1),
  localPatientId: z.string().min(1),
  /** The gateway's ledger id of the message or Bundle the event was derived from. */
  sourceMessageId: z.string().min(1),
  /**
   * When the source message was created: HL7 v2 MSH-7 as an instant, else when the gateway received
   * it. The same on a replay of the message, so consumers can tell an old message replayed from a
   * newer one. Absent: unknown (FHIR uploads, events from before the field existed).
   */
  messageTime: isoInstant.optional(),
  /** Version of the rules that produced the resources (v2-fhir MAPPER_VERSION, or the FHIR ingest's). */
  mapperVersion: z.string().min(1),
  /** How the source arrived: an HL7 v2 message (MLLP) or a FHIR Bundle (REST). */
  channel: z.enum(['hl7v2', 'fhir']),
});

/** A raw HL7v2 message as received over MLLP, recorded before its ACK (hie.inbound.hl7v2). */
export const InboundHl7v2Received = defineEvent(
  'org.tessera.hl7v2.received',
  1,
  Topics.inboundHl7v2,
  z.object({
    ledgerId: z.string().min(1),
    institutionId: z.string().min(1).nullable(),
    sendingFacility: z.string(),
    messageType: z.string(),
    controlId: z.string(),
    receivedAt: isoInstant,
    charset: z.string(),
    contentSha256: sha256Hex,
    /** How the sending institution was authenticated on the connection (absent on older records = 'none'). */
    senderAuthentication: SenderAuthentication.optional(),
    /** The authenticated identity: certificate subject (CN=…) or peer address; never patient data. */
    senderIdentity: z.string().max(300).optional(),
    /** The message text, decoded by its declared character set, segments separated by CR. */
    message: z.string().min(1),
  }),
);

export const PatientUpserted = defineEvent(
  'org.tessera.patient.upserted',
  1,
  Topics.patient,
  sourceProvenance.extend({ patient: fhirResource<Patient>('Patient') }),
);

export const PatientMerged = defineEvent(
  'org.tessera.patient.merged',
  1,
  Topics.patient,
  sourceProvenance.extend({
    /** MRG-1 identifier merged into the surviving one (localPatientId / patientSystem). */
    priorPatientSystem: z.string().min(1),
    priorLocalPatientId: z.string().min(1),
    /** The surviving Patient. */
    patient: fhirResource<Patient>('Patient'),
    /** The prior Patient: inactive, link replaced-by the surviving one. */
    priorPatient: fhirResource<Patient>('Patient'),
  }),
);

export const EncounterUpserted = defineEvent(
  'org.tessera.encounter.upserted',
  1,
  Topics.encounter,
  sourceProvenance.extend({
    encounter: fhirResource<Encounter>('Encounter'),
    /**
     * The HL7 v2 trigger event that carried the visit (MSH-9.2, e.g. A01, A03, A08), so consumers
     * can tell an admission from an update; absent for FHIR uploads and older events (added additively).
     */
    triggerEvent: z
      .string()
      .regex(/^[A-Z0-9]{3}$/)
      .optional(),
  }),
);

export const ObservationReported = defineEvent(
  'org.tessera.observation.reported',
  1,
  Topics.observation,
  sourceProvenance.extend({
    /** One DiagnosticReport per order (OBR) or per FHIR DiagnosticReport; may be empty. */
    reports: z.array(fhirResource<DiagnosticReport>('DiagnosticReport')),
    observations: z.array(fhirResource<Observation>('Observation')),
  }),
);

export const DocumentPublished = defineEvent(
  'org.tessera.document.published',
  1,
  Topics.document,
  sourceProvenance.extend({
    document: fhirResource<DocumentReference>('DocumentReference'),
    /** The document bytes (security labels and encounter are inside `document`). */
    content: z.object({
      contentType: z.string().min(1),
      sha256: sha256Hex,
      size: z.number().int().nonnegative(),
      base64: z.string(),
    }),
  }),
);

export const LinkState = z.enum(['MATCH', 'POSSIBLE_MATCH', 'NO_MATCH']);
export const LinkOrigin = z.enum(['AUTO', 'MANUAL']);

/** An MPI link decision about one source record (hie.mpi.link, keyed by source record). */
export const MpiLinkChanged = defineEvent(
  'org.tessera.mpi.link.changed',
  1,
  Topics.mpiLink,
  z.object({
    patientSystem: z.string().min(1),
    localPatientId: z.string().min(1),
    enterpriseId: z.string().min(1).nullable(),
    previousEnterpriseId: z.string().min(1).nullable(),
    state: LinkState,
    origin: LinkOrigin,
    score: z.number().nullable(),
    ruleSetVersion: z.string(),
    decidedAt: isoInstant,
    reason: z.string(),
    /** Id of the immutable link_events row that recorded this decision (added additively). */
    decisionId: z.string().min(1).optional(),
    /** Per-field comparison levels and weights behind `score` (libs/matching FieldComparison). */
    comparisons: z
      .array(z.object({ field: z.string(), level: z.string().nullable(), weight: z.number() }))
      .optional(),
  }),
);

/**
 * Something changed what a person's consent policy evaluates to: a directive, a break-the-glass
 * grant, or a link that moved a source record (with consents) between enterprise ids. Keyed by
 * enterprise id. Consumers drop cached decisions for `enterpriseId` older than `policyVersion`.
 */
export const ConsentChanged = defineEvent(
  'org.tessera.consent.changed',
  2,
  Topics.consent,
  z.object({
    enterpriseId: z.string().min(1),
    reason: z.enum(['directive', 'break-glass', 'link']),
    consentId: z.string().min(1).optional(),
    policyVersion: z.number().int().positive(),
    changedAt: isoInstant,
  }),
);

/**
 * One audit record, shaped after IHE BALP (Basic Audit Log Patterns) / FHIR AuditEvent: who
 * (client, institution, roles, end user), which patient(s), what (interaction + entities), why
 * (purpose of use), outcome. Keyed by the first patient's enterprise id (or the client id) so one
 * person's trail stays in order. No clinical content: entity references and query parameters only.
 */
export const AuditRecorded = defineEvent(
  'org.tessera.audit.recorded',
  2,
  Topics.audit,
  z.object({
    /** AuditEvent.type: rest (FHIR interaction), login (token), security-alert (rejected), consent, break-glass, operator. */
    type: z.enum(['rest', 'login', 'security-alert', 'consent-decision', 'break-glass', 'operator']),
    /** AuditEvent.subtype: read, vread, search-type, operation, create, update, delete, token, ... */
    subtype: z.string().min(1).max(80),
    action: z.enum(['C', 'R', 'U', 'D', 'E']),
    outcome: z.enum(['0', '4', '8', '12']),
    outcomeDesc: z.string().max(500).optional(),
    recordedAt: isoInstant,
    agent: z.object({
      clientId: z.string().nullable(),
      institutionId: z.string().nullable(),
      roles: z.array(z.string()).default([]),
      /** End user the institution asserts (X-Tessera-On-Behalf-Of), an opaque id. */
      user: z.string().max(200).optional(),
      network: z.string().max(100).optional(),
    }),
    /** AuditEvent.source.observer: the service that saw it. */
    observer: z.string().min(1),
    purposeOfUse: z.string().optional(),
    breakGlass: z.boolean().default(false),
    /** Enterprise ids of the patients concerned (BALP patient entity). */
    patients: z.array(z.string()).default([]),
    entities: z
      .array(
        z.object({
          type: z.string().min(1),
          reference: z.string().optional(),
          /** For searches: the query string as received (access-controlled store; never logged). */
          query: z.string().max(4000).optional(),
          /**
           * For a returned or read item: the institution that contributed it (its source). "Who
           * accessed my record" shows an institution the records naming it here (added additively).
           */
          sourceInstitution: z.string().min(1).max(100).optional(),
        }),
      )
      .default([]),
    /** Items the consent decision hid from the response (counts only). */
    hiddenCount: z.number().int().nonnegative().optional(),
    detail: z.string().max(1000).optional(),
  }),
);
