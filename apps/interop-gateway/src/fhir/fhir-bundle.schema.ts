import { z } from 'zod';
import type { Institution } from '../institutions/institution';
import { isExchangeIdentifierSystem } from '../institutions/institution';
import type { Issue } from '@tessera/platform-service';
import { formatPath, issuesFromZod } from '@tessera/platform-service';
import {
  DIAGNOSTIC_REPORT_STATUSES,
  DOCUMENT_REFERENCE_STATUSES,
  ENCOUNTER_STATUSES,
  OBSERVATION_STATUSES,
} from '@tessera/contracts';

/**
 * Structural validation of the FHIR R4 subset the gateway accepts from institutions: a Bundle of
 * type transaction or message (R4 §3.3.1 Bundle) carrying Patient, Encounter, DocumentReference +
 * Binary, Observation and DiagnosticReport. Only what the exchange relies on is checked; other
 * elements pass through unchanged. Diagnostics name the FHIRPath and never the submitted value.
 */

/** R4 id datatype: [A-Za-z0-9\-\.]{1,64}. */
const fhirId = z
  .string()
  .regex(/^[A-Za-z0-9\-.]{1,64}$/, 'expected a FHIR id ([A-Za-z0-9-.], 1-64 characters)');
const uri = z.string().min(1, 'must not be empty');
const base64 = z
  .string()
  .transform((v) => v.replace(/\s+/g, ''))
  .refine((v) => /^[A-Za-z0-9+/]*={0,2}$/.test(v) && v.length % 4 === 0, 'expected base64Binary content');
const identifier = z.looseObject({
  system: uri.optional(),
  value: z.string().min(1, 'must not be empty').optional(),
});
const reference = z
  .looseObject({
    reference: z.string().min(1).optional(),
    identifier: identifier.optional(),
    display: z.string().optional(),
  })
  .refine(
    (r) => r.reference !== undefined || r.identifier !== undefined,
    'a Reference needs `reference` or `identifier`',
  );
const coding = z.looseObject({
  system: uri.optional(),
  code: z.string().min(1).optional(),
  display: z.string().optional(),
});
const codeableConcept = z
  .looseObject({ coding: z.array(coding).optional(), text: z.string().optional() })
  .refine(
    (c) => (c.coding?.length ?? 0) > 0 || (c.text ?? '') !== '',
    'a CodeableConcept needs at least one coding or text',
  );
const attachment = z
  .looseObject({
    contentType: z.string().min(1).optional(),
    data: base64.optional(),
    url: z.string().min(1).optional(),
  })
  .refine(
    (a) => a.data !== undefined || a.url !== undefined,
    'an attachment needs inline `data` or a `url` to a Binary of this Bundle',
  );

const base = { id: fhirId.optional() };

export const patientSchema = z.looseObject({
  resourceType: z.literal('Patient'),
  ...base,
  identifier: z
    .array(identifier)
    .min(1, 'a Patient needs at least one identifier of a registered assigning authority'),
});

/** R4 encounter-status; Encounter.class is 1..1 in R4; the exchange also requires the subject. */
export const encounterSchema = z.looseObject({
  resourceType: z.literal('Encounter'),
  ...base,
  identifier: z.array(identifier).optional(),
  status: z.enum(ENCOUNTER_STATUSES),
  class: coding.refine(
    (c) => c.code !== undefined,
    'Encounter.class needs a code (v3 ActCode, e.g. IMP, AMB, EMER)',
  ),
  subject: reference,
});

/** R4 document-reference-status; content 1..* with an attachment. */
export const documentReferenceSchema = z.looseObject({
  resourceType: z.literal('DocumentReference'),
  ...base,
  masterIdentifier: identifier.optional(),
  status: z.enum(DOCUMENT_REFERENCE_STATUSES),
  subject: reference,
  content: z.array(z.looseObject({ attachment })).min(1, 'a DocumentReference needs at least one content'),
});

export const binarySchema = z.looseObject({
  resourceType: z.literal('Binary'),
  ...base,
  contentType: z.string().min(1),
  data: base64,
});

/** R4 observation-status. */
export const observationSchema = z.looseObject({
  resourceType: z.literal('Observation'),
  ...base,
  identifier: z.array(identifier).optional(),
  status: z.enum(OBSERVATION_STATUSES),
  code: codeableConcept,
  subject: reference,
});

/** R4 diagnostic-report-status. */
export const diagnosticReportSchema = z.looseObject({
  resourceType: z.literal('DiagnosticReport'),
  ...base,
  identifier: z.array(identifier).optional(),
  status: z.enum(DIAGNOSTIC_REPORT_STATUSES),
  code: codeableConcept,
  subject: reference,
  result: z.array(reference).optional(),
});

export const messageHeaderSchema = z.looseObject({ resourceType: z.literal('MessageHeader'), ...base });

const RESOURCE_SCHEMAS = {
  Patient: patientSchema,
  Encounter: encounterSchema,
  DocumentReference: documentReferenceSchema,
  Binary: binarySchema,
  Observation: observationSchema,
  DiagnosticReport: diagnosticReportSchema,
  MessageHeader: messageHeaderSchema,
} as const;

export type AcceptedResourceType = keyof typeof RESOURCE_SCHEMAS;
export type PatientInput = z.output<typeof patientSchema>;
export type EncounterInput = z.output<typeof encounterSchema>;
export type DocumentReferenceInput = z.output<typeof documentReferenceSchema>;
export type BinaryInput = z.output<typeof binarySchema>;
export type ObservationInput = z.output<typeof observationSchema>;
export type DiagnosticReportInput = z.output<typeof diagnosticReportSchema>;
export type ReferenceInput = z.output<typeof reference>;

export type AcceptedResource =
  | PatientInput
  | EncounterInput
  | DocumentReferenceInput
  | BinaryInput
  | ObservationInput
  | DiagnosticReportInput
  | z.output<typeof messageHeaderSchema>;

export interface ValidEntry {
  readonly index: number;
  readonly fullUrl?: string;
  readonly resource: AcceptedResource;
}

export interface ValidBundle {
  readonly type: 'transaction' | 'message';
  /** Bundle.identifier.value, else Bundle.id: the sender's id of this submission. */
  readonly submissionId: string;
  readonly entries: readonly ValidEntry[];
}

const bundleShape = z.looseObject({
  resourceType: z.literal('Bundle'),
  id: fhirId.optional(),
  identifier: identifier.optional(),
  type: z.enum(['transaction', 'message'], { message: 'only transaction and message Bundles are accepted' }),
  entry: z
    .array(
      z.looseObject({
        fullUrl: z.string().min(1).optional(),
        resource: z.looseObject({ resourceType: z.string() }),
        request: z.looseObject({ method: z.enum(['POST', 'PUT']), url: z.string().min(1) }).optional(),
      }),
    )
    .min(1, 'a Bundle needs at least one entry'),
});

export type BundleValidation =
  | { readonly ok: true; readonly bundle: ValidBundle }
  | { readonly ok: false; readonly issues: readonly Issue[] };

/** Systems of the institution's assigning authorities, the default one first. */
export function registeredSystems(institution: Institution): string[] {
  const sorted = [...institution.assigningAuthorities].sort((a, b) => Number(b.default) - Number(a.default));
  return [...new Set(sorted.map((a) => a.system))];
}

/** Key of an entry for reference resolution: its fullUrl and `Type/id`. */
export function entryKeys(entry: {
  fullUrl?: string;
  resource: { resourceType: string; id?: string };
}): string[] {
  const keys: string[] = [];
  if (entry.fullUrl !== undefined) keys.push(entry.fullUrl);
  if (entry.resource.id !== undefined) keys.push(`${entry.resource.resourceType}/${entry.resource.id}`);
  return keys;
}

/**
 * Validates `json` as a Bundle from `institution`: structure (per resource type), the Patient
 * identifiers' systems against the institution's registration, and references inside the Bundle
 * (subject → a Patient of the Bundle or an identifier of a registered system; attachment url →
 * a Binary of the Bundle; DiagnosticReport.result → an Observation of the Bundle). One issue per
 * problem, each with its FHIRPath.
 *
 * A patient identifier (Patient.identifier, a subject's identifier) in the exchange's own namespace
 * (`urn:tessera:`, the enterprise id among them) or in `systemsOfOthers` (systems only other
 * institutions registered: identifierSystemsOfOthers) is refused: an institution speaks only for its
 * own patient numbers, as on the HL7 v2 path.
 */
export function validateBundle(
  json: unknown,
  institution: Institution,
  systemsOfOthers: ReadonlySet<string> = new Set(),
): BundleValidation {
  const shape = bundleShape.safeParse(json);
  if (!shape.success) return { ok: false, issues: issuesFromZod(shape.error, 'Bundle') };
  const bundle = shape.data;
  const issues: Issue[] = [];
  const entries: ValidEntry[] = [];
  bundle.entry.forEach((entry, index) => {
    const at = (...path: PropertyKey[]) => formatPath('Bundle', ['entry', index, ...path]);
    const type = entry.resource.resourceType;
    const schema = (RESOURCE_SCHEMAS as Record<string, z.ZodType | undefined>)[type];
    if (schema === undefined) {
      issues.push({
        code: 'not-supported',
        expression: at('resource', 'resourceType'),
        diagnostics: `resource type not accepted here; accepted: ${Object.keys(RESOURCE_SCHEMAS).join(', ')}`,
      });
      return;
    }
    if (bundle.type === 'transaction' && entry.request === undefined) {
      issues.push({
        code: 'required',
        expression: at('request'),
        diagnostics: 'transaction entries need a request (FHIR R4 bdl-3)',
      });
    }
    if (type === 'MessageHeader' && (bundle.type !== 'message' || index !== 0)) {
      issues.push({
        code: 'invalid',
        expression: at('resource'),
        diagnostics: 'a MessageHeader is only accepted as the first entry of a message Bundle',
      });
    }
    const parsed = schema.safeParse(entry.resource);
    if (!parsed.success) {
      issues.push(...issuesFromZod(parsed.error, at('resource')));
      return;
    }
    entries.push({
      index,
      ...(entry.fullUrl === undefined ? {} : { fullUrl: entry.fullUrl }),
      resource: parsed.data as AcceptedResource,
    });
  });
  if (bundle.type === 'message' && bundle.entry[0]?.resource.resourceType !== 'MessageHeader') {
    issues.push({
      code: 'required',
      expression: 'Bundle.entry[0].resource',
      diagnostics: 'a message Bundle starts with its MessageHeader (FHIR R4 §4.2)',
    });
  }
  if (issues.length > 0) return { ok: false, issues };

  issues.push(...semanticIssues(entries, institution, systemsOfOthers));
  if (issues.length > 0) return { ok: false, issues };
  return {
    ok: true,
    bundle: { type: bundle.type, submissionId: bundle.identifier?.value ?? bundle.id ?? '', entries },
  };
}

/**
 * The issue of a patient identifier whose system the sender does not own, at `expression`; undefined
 * when it may send it. The diagnostics name neither the value nor the other institution.
 */
function foreignIdentifierIssue(
  system: string | undefined,
  systemsOfOthers: ReadonlySet<string>,
  expression: string,
): Issue | undefined {
  if (system === undefined) return undefined;
  if (isExchangeIdentifierSystem(system)) {
    return {
      code: 'business-rule',
      expression,
      diagnostics:
        "this identifier system is the exchange's own (urn:tessera:…, e.g. the enterprise id): institutions may not send identifiers in it; remove the identifier and send your patients' numbers under your registered assigning authorities",
    };
  }
  if (systemsOfOthers.has(system)) {
    return {
      code: 'business-rule',
      expression,
      diagnostics:
        "this identifier system belongs to another institution (an assigning authority registered by it, not by you): send only your patients' identifiers under your own registered assigning authorities",
    };
  }
  return undefined;
}

function semanticIssues(
  entries: readonly ValidEntry[],
  institution: Institution,
  systemsOfOthers: ReadonlySet<string>,
): Issue[] {
  const issues: Issue[] = [];
  const systems = new Set(registeredSystems(institution));
  const byKey = new Map<string, ValidEntry>();
  for (const entry of entries) for (const key of entryKeys(entry)) byKey.set(key, entry);
  const at = (entry: ValidEntry, ...path: PropertyKey[]) =>
    formatPath('Bundle', ['entry', entry.index, 'resource', ...path]);
  const resolves = (ref: ReferenceInput, type: string) =>
    ref.reference !== undefined && byKey.get(ref.reference)?.resource.resourceType === type;

  for (const entry of entries) {
    const r = entry.resource;
    switch (r.resourceType) {
      case 'Patient':
        r.identifier.forEach((identifier, j) => {
          const issue = foreignIdentifierIssue(
            identifier.system,
            systemsOfOthers,
            at(entry, 'identifier', j),
          );
          if (issue !== undefined) issues.push(issue);
        });
        if (
          !r.identifier.some((i) => i.system !== undefined && systems.has(i.system) && i.value !== undefined)
        ) {
          issues.push({
            code: 'business-rule',
            expression: at(entry, 'identifier'),
            diagnostics: `no identifier has a system registered for institution ${institution.id} (its assigning authorities: ${[...systems].join(', ')})`,
          });
        }
        break;
      case 'Encounter':
      case 'Observation':
      case 'DiagnosticReport':
      case 'DocumentReference': {
        const subject = r.subject;
        const foreign = foreignIdentifierIssue(
          subject.identifier?.system,
          systemsOfOthers,
          at(entry, 'subject', 'identifier'),
        );
        if (foreign !== undefined) {
          issues.push(foreign);
          break;
        }
        const logical =
          subject.identifier?.system !== undefined &&
          systems.has(subject.identifier.system) &&
          subject.identifier.value !== undefined;
        if (!resolves(subject, 'Patient') && !(subject.reference === undefined && logical)) {
          issues.push({
            code: 'business-rule',
            expression: at(entry, 'subject'),
            diagnostics:
              'the subject must reference a Patient of this Bundle (its fullUrl or Patient/<id>) or carry an identifier of a registered assigning authority',
          });
        }
        if (r.resourceType === 'DocumentReference') {
          r.content.forEach((content, i) => {
            const url = content.attachment.url;
            if (
              content.attachment.data === undefined &&
              url !== undefined &&
              byKey.get(url)?.resource.resourceType !== 'Binary'
            ) {
              issues.push({
                code: 'business-rule',
                expression: at(entry, 'content', i, 'attachment', 'url'),
                diagnostics: 'must reference a Binary of this Bundle (Binary/<id> or its urn:uuid fullUrl)',
              });
            }
            if (content.attachment.data !== undefined && content.attachment.contentType === undefined) {
              issues.push({
                code: 'required',
                expression: at(entry, 'content', i, 'attachment', 'contentType'),
                diagnostics: 'inline attachment data needs its contentType',
              });
            }
          });
        }
        if (r.resourceType === 'DiagnosticReport') {
          (r.result ?? []).forEach((result, i) => {
            if (!resolves(result, 'Observation')) {
              issues.push({
                code: 'business-rule',
                expression: at(entry, 'result', i),
                diagnostics: 'must reference an Observation of this Bundle',
              });
            }
          });
        }
        break;
      }
      case 'Binary':
      case 'MessageHeader':
        break;
    }
  }
  return issues;
}
