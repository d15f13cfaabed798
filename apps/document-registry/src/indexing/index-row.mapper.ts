import type {
  CodeableConcept,
  Coding,
  DiagnosticReport,
  DocumentReference,
  Encounter,
  Observation,
  Reference,
} from '@medplum/fhirtypes';

/**
 * Pure extraction of the searchable columns of one FHIR R4 resource. The resource itself is kept
 * as received; these columns only serve search, lifecycle and consent.
 */
export interface IndexRow {
  readonly id: string;
  readonly status: string;
  /** In current results (false: cancelled, superseded, entered-in-error — still in history). */
  readonly isCurrent: boolean;
  readonly typeTokens: readonly string[];
  readonly categoryTokens: readonly string[];
  readonly facilityTokens: readonly string[];
  readonly effectiveAt: string | null;
  readonly effectiveEnd: string | null;
  /** Security labels as Codings (DocumentReference.securityLabel, or meta.security). */
  readonly securityLabels: readonly Coding[];
  readonly encounterId: string | null;
}

/**
 * Search tokens of a CodeableConcept (FHIR R4 search §3.1.1.4.6 token): `system|code` for an
 * exact match and the bare `code` for `code=` searches without a system.
 */
export function tokensOf(concepts: readonly (CodeableConcept | undefined)[]): string[] {
  const tokens = new Set<string>();
  for (const concept of concepts) {
    for (const coding of concept?.coding ?? []) {
      if (coding.code === undefined || coding.code === '') continue;
      tokens.add(coding.code);
      if (coding.system !== undefined) tokens.add(`${coding.system}|${coding.code}`);
    }
  }
  return [...tokens].sort();
}

/** The id of a literal reference `Type/id` (relative), or null. */
export function referencedId(reference: Reference | undefined, type: string): string | null {
  const text = reference?.reference;
  if (text === undefined) return null;
  const match = new RegExp(`(?:^|/)${type}/([^/]+)$`).exec(text);
  return match?.[1] ?? null;
}

function requireId(resource: { readonly resourceType: string; readonly id?: string }): string {
  if (resource.id === undefined || resource.id === '') {
    throw new Error(
      `${resource.resourceType} without an id: the gateway assigns deterministic ids; cannot index`,
    );
  }
  return resource.id;
}

function facilityTokens(institutionId: string, values: readonly (string | undefined)[]): string[] {
  return [
    ...new Set([institutionId, ...values.filter((v): v is string => v !== undefined && v !== '')]),
  ].sort();
}

/** Encounter.status values that take it out of current results (A11 cancel admit → `cancelled`, v2-to-FHIR PV1/EVN). */
const ENDED_ENCOUNTER_STATUSES: ReadonlySet<string> = new Set(['cancelled', 'entered-in-error']);
/** DiagnosticReport/Observation status values that remove it from current results. */
const WITHDRAWN_RESULT_STATUSES: ReadonlySet<string> = new Set(['cancelled', 'entered-in-error']);

export function encounterRow(
  encounter: Encounter,
  institutionId: string,
): IndexRow & { readonly classCode: string | null } {
  return {
    id: requireId(encounter),
    status: encounter.status,
    isCurrent: !ENDED_ENCOUNTER_STATUSES.has(encounter.status),
    typeTokens: tokensOf([...(encounter.type ?? []), encounter.serviceType]),
    categoryTokens: [],
    facilityTokens: facilityTokens(institutionId, [
      encounter.serviceProvider?.identifier?.value,
      referencedId(encounter.serviceProvider, 'Organization') ?? undefined,
      ...(encounter.location ?? []).map((l) => l.location.identifier?.value),
    ]),
    effectiveAt: encounter.period?.start ?? null,
    effectiveEnd: encounter.period?.end ?? null,
    securityLabels: encounter.meta?.security ?? [],
    encounterId: null,
    classCode: encounter.class.code ?? null,
  };
}

/**
 * A DocumentReference (FHIR R4 §2.42 / IHE MHD): `status` current | superseded | entered-in-error;
 * only `current` is in current results. Its `replaces` targets are returned for supersession.
 */
export function documentRow(
  document: DocumentReference,
  institutionId: string,
): IndexRow & { readonly replaces: readonly string[] } {
  return {
    id: requireId(document),
    status: document.status,
    isCurrent: document.status === 'current' && document.docStatus !== 'entered-in-error',
    typeTokens: tokensOf([document.type]),
    categoryTokens: tokensOf(document.category ?? []),
    facilityTokens: facilityTokens(institutionId, [
      ...tokensOf([document.context?.facilityType]),
      document.custodian?.identifier?.value,
      referencedId(document.custodian, 'Organization') ?? undefined,
    ]),
    effectiveAt:
      document.date ?? document.context?.period?.start ?? document.content[0]?.attachment.creation ?? null,
    effectiveEnd: document.context?.period?.end ?? null,
    securityLabels: [
      ...(document.securityLabel ?? []).flatMap((label) => label.coding ?? []),
      ...(document.meta?.security ?? []),
    ],
    encounterId: referencedId(document.context?.encounter?.[0], 'Encounter'),
    replaces: (document.relatesTo ?? [])
      .filter((r) => r.code === 'replaces')
      .map((r) => referencedId(r.target, 'DocumentReference'))
      .filter((id): id is string => id !== null),
  };
}

/** The Observation ids a DiagnosticReport lists in `result` (literal references), in order. */
export function resultIdsOf(report: DiagnosticReport): string[] {
  return (report.result ?? [])
    .map((r) => referencedId(r, 'Observation'))
    .filter((id): id is string => id !== null);
}

export function resultRow(
  resource: DiagnosticReport | Observation,
  institutionId: string,
): IndexRow & {
  readonly resourceType: 'DiagnosticReport' | 'Observation';
  readonly codeTokens: readonly string[];
  /** The Observation ids a DiagnosticReport lists in `result`, in order (none for an Observation). */
  readonly resultIds: readonly string[];
} {
  return {
    id: requireId(resource),
    resourceType: resource.resourceType,
    status: resource.status,
    isCurrent: !WITHDRAWN_RESULT_STATUSES.has(resource.status),
    typeTokens: [],
    codeTokens: tokensOf([resource.code]),
    resultIds: resource.resourceType === 'DiagnosticReport' ? resultIdsOf(resource) : [],
    categoryTokens: tokensOf(resource.category ?? []),
    facilityTokens: facilityTokens(institutionId, []),
    effectiveAt: resource.effectiveDateTime ?? resource.effectivePeriod?.start ?? resource.issued ?? null,
    effectiveEnd: resource.effectivePeriod?.end ?? null,
    securityLabels: resource.meta?.security ?? [],
    encounterId: referencedId(resource.encounter, 'Encounter'),
  };
}
