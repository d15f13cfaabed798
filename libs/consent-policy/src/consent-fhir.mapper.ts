import type { Consent } from '@tessera/contracts';
import {
  CONFIDENTIALITY_SYSTEM,
  PURPOSE_OF_USE_SYSTEM,
  PURPOSES_OF_USE,
  SENSITIVITY_SYSTEM,
  type ConsentAnchor,
  type ConsentDirective,
  type DirectiveStatus,
  type Period,
  type Provision,
  type PurposeOfUse,
} from './model';

type ConsentProvision = NonNullable<Consent['provision']>;
type PatientReference = NonNullable<Consent['patient']>;

/** Consent.scope for privacy consents (http://terminology.hl7.org/CodeSystem/consentscope). */
export const CONSENT_SCOPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/consentscope';
/** Consent.policyRule codes OPTIN / OPTINR / OPTOUT / OPTOUTE live in v3-ActCode. */
export const POLICY_RULE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
/** Organization.identifier system of the region's institutions (value = institution id). */
export const INSTITUTION_SYSTEM = 'urn:tessera:institution';
/** Consent.category written by toFhirConsent: LOINC 59284-0 "Patient Consent". */
const CONSENT_CATEGORY = { system: 'http://loinc.org', code: '59284-0', display: 'Patient Consent' } as const;
/** meta.tag marking directives that came from an HL7v2 feed (PD1-12) rather than a FHIR client. */
export const CONSENT_SOURCE_TAG_SYSTEM = 'urn:tessera:consent-source';
/**
 * meta.tag on a Consent holding permits that needed a privacy officer's review (README "Privacy
 * review of recorded permits"): `pending` while `proposed`, then `approved` or `rejected`.
 */
export const CONSENT_REVIEW_TAG_SYSTEM = 'urn:tessera:consent-review';

type MetaTag = NonNullable<NonNullable<Consent['meta']>['tag']>[number];

const REVIEW_TAGS: Readonly<Partial<Record<DirectiveStatus, MetaTag>>> = {
  proposed: {
    system: CONSENT_REVIEW_TAG_SYSTEM,
    code: 'pending',
    display:
      'Awaiting a privacy officer: a permit that lifts a sensitivity label for the recording institution itself (or for anyone), or lifts an absolute label, counts only once approved; the rest of this Consent counts now.',
  },
  active: {
    system: CONSENT_REVIEW_TAG_SYSTEM,
    code: 'approved',
    display: 'Approved by a privacy officer: every provision counts.',
  },
  rejected: {
    system: CONSENT_REVIEW_TAG_SYSTEM,
    code: 'rejected',
    display:
      'Rejected by a privacy officer: the permits that needed review never count; the rest of this Consent counts.',
  },
};

/**
 * The review tag of a directive (undefined when none of its provisions needed review). The tag
 * describes the server's state: a client's tag of this system is never kept (`withReviewTag`).
 */
export function reviewTagOf(d: ConsentDirective): MetaTag | undefined {
  if (!d.provisions.some((p) => p.reviewRequired === true)) return undefined;
  const tag = REVIEW_TAGS[d.status];
  return tag === undefined ? undefined : { ...tag };
}

/** `tags` without any client-sent review tag, plus the directive's own review tag if it has one. */
export function withReviewTag(tags: readonly MetaTag[] | undefined, d: ConsentDirective): MetaTag[] {
  const review = reviewTagOf(d);
  return [
    ...(tags ?? []).filter((t) => t.system !== CONSENT_REVIEW_TAG_SYSTEM),
    ...(review === undefined ? [] : [review]),
  ];
}

const STATUSES: readonly DirectiveStatus[] = [
  'draft',
  'proposed',
  'active',
  'rejected',
  'inactive',
  'entered-in-error',
];
const POLICY_RULES: Readonly<Record<string, 'permit' | 'deny'>> = {
  OPTIN: 'permit',
  OPTINR: 'permit', // opt-in with restrictions (the restrictions are the nested provisions)
  OPTOUT: 'deny',
  OPTOUTE: 'deny', // opt-out with exceptions (the exceptions are the nested provisions)
};

/** An OperationOutcome-ready issue; `diagnostics` never echoes values from the resource (no PHI). */
export interface ConsentIssue {
  /** FHIR issue-type code: structure | required | value | code-invalid | not-supported | invariant. */
  readonly code: 'structure' | 'required' | 'value' | 'code-invalid' | 'not-supported' | 'invariant';
  readonly diagnostics: string;
  /** FHIRPath-like location, e.g. `Consent.provision.provision[1].actor[0].reference`. */
  readonly expression: string;
}

export interface ConsentMeta {
  readonly id: string;
  readonly version: number;
  readonly recordedAt: string;
  /** The anchor the caller already resolved; wins over Consent.patient (which may then be absent). */
  readonly anchor?: ConsentAnchor;
  /** Who recorded it, when the caller knows better than the resource (e.g. the authenticated institution). */
  readonly recordedBy?: string;
}

export type FromFhirConsentResult =
  | { readonly directive: ConsentDirective; readonly issues?: undefined }
  | { readonly directive?: undefined; readonly issues: readonly ConsentIssue[] };

// FHIR dateTime, restricted to a full date or a full date-time with a zone (partial dates are ambiguous).
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const ID_RE = /^[A-Za-z0-9\-.]{1,64}$/;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNonEmptyString = (v: unknown): v is string => typeof v === 'string' && v.trim() !== '';

/**
 * Parses a FHIR R4 Consent (scope `patient-privacy`) into a ConsentDirective. Collects every
 * issue instead of stopping at the first. Supported shape (README "FHIR Consent"):
 * base rule from `policyRule` (v3-ActCode OPTIN/OPTINR → permit, OPTOUT/OPTOUTE → deny) and/or
 * `provision.type` (they must agree); `provision.period`; one level of `provision.provision[]`
 * with `type`, `period`, `actor[].reference` (institution), `purpose[]`, `securityLabel[]`.
 * Restrictions that the evaluator cannot enforce (`data`, `class`, `code`, `dataPeriod`, restrictions
 * on the root provision, deeper nesting) are rejected rather than silently ignored.
 */
export function fromFhirConsent(resource: unknown, meta: ConsentMeta): FromFhirConsentResult {
  const issues: ConsentIssue[] = [];
  const issue = issueSink(issues);

  if (!isObj(resource) || resource['resourceType'] !== 'Consent') {
    return {
      issues: [
        { code: 'structure', expression: 'Consent', diagnostics: 'Expected a FHIR R4 Consent resource' },
      ],
    };
  }
  const r = resource;

  // Consent.status
  const status = r['status'];
  if (status === undefined) issue('required', 'Consent.status', 'Consent.status is required');
  else if (!STATUSES.includes(status as DirectiveStatus))
    issue('code-invalid', 'Consent.status', `Consent.status must be one of ${STATUSES.join(', ')}`);

  // Consent.scope = patient-privacy
  const scope = r['scope'];
  if (scope === undefined) issue('required', 'Consent.scope', 'Consent.scope is required (patient-privacy)');
  else if (!isObj(scope) || !Array.isArray(scope['coding']))
    issue('structure', 'Consent.scope', 'Consent.scope must be a CodeableConcept with coding');
  else if (
    !(scope['coding'] as unknown[]).some(
      (c) => isObj(c) && c['system'] === CONSENT_SCOPE_SYSTEM && c['code'] === 'patient-privacy',
    )
  )
    issue(
      'not-supported',
      'Consent.scope',
      `Only scope ${CONSENT_SCOPE_SYSTEM}|patient-privacy is supported`,
    );

  // Consent.patient → anchor
  let anchor: ConsentAnchor | undefined = meta.anchor;
  if (r['patient'] === undefined) {
    if (!anchor) issue('required', 'Consent.patient', 'Consent.patient is required');
  } else {
    const parsed = parsePatientReference(r['patient']);
    if (typeof parsed === 'string') issue('value', 'Consent.patient', parsed);
    else anchor ??= parsed;
  }

  // Base rule: policyRule and/or provision.type
  let ruleBase: 'permit' | 'deny' | undefined;
  const policyRule = r['policyRule'];
  if (policyRule !== undefined) {
    if (!isObj(policyRule) || !Array.isArray(policyRule['coding']))
      issue('structure', 'Consent.policyRule', 'Consent.policyRule must be a CodeableConcept with coding');
    else {
      const known = (policyRule['coding'] as unknown[]).filter(
        (c): c is Obj =>
          isObj(c) &&
          c['system'] === POLICY_RULE_SYSTEM &&
          typeof c['code'] === 'string' &&
          c['code'] in POLICY_RULES,
      );
      const bases = new Set(known.map((c) => POLICY_RULES[c['code'] as string]));
      if (bases.size === 0)
        issue(
          'code-invalid',
          'Consent.policyRule',
          `Consent.policyRule must carry ${POLICY_RULE_SYSTEM} OPTIN, OPTINR, OPTOUT or OPTOUTE`,
        );
      else if (bases.size > 1)
        issue('invariant', 'Consent.policyRule', 'Consent.policyRule codes contradict each other');
      else ruleBase = [...bases][0];
    }
  }

  let provisionBase: 'permit' | 'deny' | undefined;
  let period: Period | undefined;
  const provisions: Provision[] = [];
  const root = r['provision'];
  if (root !== undefined) {
    if (!isObj(root)) issue('structure', 'Consent.provision', 'Consent.provision must be an object');
    else {
      const at = 'Consent.provision';
      if (root['type'] !== undefined) {
        if (root['type'] === 'permit' || root['type'] === 'deny') provisionBase = root['type'];
        else issue('code-invalid', `${at}.type`, 'provision.type must be permit or deny');
      }
      if (root['period'] !== undefined) period = parsePeriod(root['period'], `${at}.period`, issue);
      for (const key of [
        'actor',
        'purpose',
        'securityLabel',
        'data',
        'class',
        'code',
        'dataPeriod',
      ] as const) {
        if (root[key] !== undefined && !(Array.isArray(root[key]) && root[key].length === 0))
          issue(
            'not-supported',
            `${at}.${key}`,
            `${key} on the root provision is not supported; put it in a nested provision.provision`,
          );
      }
      if (root['provision'] !== undefined) {
        if (!Array.isArray(root['provision']))
          issue('structure', `${at}.provision`, 'provision.provision must be an array');
        else
          root['provision'].forEach((p: unknown, i: number) => {
            const parsed = parseProvision(p, `${at}.provision[${i}]`, issue);
            if (parsed) provisions.push(parsed);
          });
      }
    }
  }
  if (ruleBase && provisionBase && ruleBase !== provisionBase)
    issue('invariant', 'Consent.provision.type', 'provision.type contradicts Consent.policyRule');
  const base = ruleBase ?? provisionBase;
  if (!base)
    issue(
      'required',
      'Consent.policyRule',
      'A base rule is required: Consent.policyRule (OPTIN/OPTOUT) or Consent.provision.type',
    );

  const recordedBy = meta.recordedBy ?? parseRecordedBy(r, issue);

  if (issues.length > 0 || !anchor || !base) return { issues };
  return {
    directive: {
      id: meta.id,
      version: meta.version,
      status: status as DirectiveStatus,
      anchor,
      base,
      ...(period ? { period } : {}),
      provisions,
      recordedBy,
      recordedAt: meta.recordedAt,
      source: 'fhir',
    },
  };
}

interface Issue {
  (code: ConsentIssue['code'], expression: string, diagnostics: string): void;
  readonly count: () => number;
}

function issueSink(issues: ConsentIssue[]): Issue {
  const add = (code: ConsentIssue['code'], expression: string, diagnostics: string): void => {
    issues.push({ code, expression, diagnostics });
  };
  return Object.assign(add, { count: () => issues.length });
}

function parsePatientReference(ref: unknown): ConsentAnchor | string {
  if (!isObj(ref)) return 'Consent.patient must be a Reference';
  if (typeof ref['reference'] === 'string') {
    const m = /^Patient\/([A-Za-z0-9\-.]{1,64})$/.exec(ref['reference']);
    if (!m) return 'Consent.patient.reference must be Patient/<enterprise id>';
    return { kind: 'enterprise', enterpriseId: m[1] };
  }
  const id = ref['identifier'];
  if (isObj(id)) {
    if (!isNonEmptyString(id['system']) || !isNonEmptyString(id['value']))
      return 'Consent.patient.identifier needs both system and value';
    return { kind: 'source', system: id['system'], value: id['value'] };
  }
  return 'Consent.patient needs reference Patient/<enterprise id> or identifier {system, value}';
}

/** FHIR dateTime → ISO instant. A date-only start means 00:00Z that day, a date-only end 23:59:59.999Z. */
function toInstant(v: unknown, edge: 'start' | 'end'): string | undefined {
  if (typeof v !== 'string') return undefined;
  if (DATE_RE.test(v)) {
    const d = new Date(`${v}T${edge === 'start' ? '00:00:00.000' : '23:59:59.999'}Z`);
    return Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== v ? undefined : d.toISOString();
  }
  if (!DATE_TIME_RE.test(v)) return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

function parsePeriod(v: unknown, at: string, issue: Issue): Period | undefined {
  if (!isObj(v)) {
    issue('structure', at, 'period must be a Period');
    return undefined;
  }
  const out: { start?: string; end?: string } = {};
  for (const edge of ['start', 'end'] as const) {
    if (v[edge] === undefined) continue;
    const instant = toInstant(v[edge], edge);
    if (instant === undefined)
      issue(
        'value',
        `${at}.${edge}`,
        `${edge} must be a FHIR date (YYYY-MM-DD) or dateTime with a time zone`,
      );
    else out[edge] = instant;
  }
  if (out.start && out.end && out.start > out.end) {
    issue('invariant', at, 'period.start must not be after period.end');
    return undefined;
  }
  return out.start || out.end ? out : undefined;
}

function parseInstitutionReference(ref: unknown): string | undefined {
  if (!isObj(ref)) return undefined;
  const id = ref['identifier'];
  if (isObj(id)) {
    return id['system'] === INSTITUTION_SYSTEM && typeof id['value'] === 'string' && ID_RE.test(id['value'])
      ? id['value']
      : undefined;
  }
  if (typeof ref['reference'] === 'string')
    return /^Organization\/([A-Za-z0-9\-.]{1,64})$/.exec(ref['reference'])?.[1];
  return undefined;
}

function parseProvision(p: unknown, at: string, issue: Issue): Provision | undefined {
  if (!isObj(p)) {
    issue('structure', at, 'provision must be an object');
    return undefined;
  }
  const before = issue.count();
  let type: 'permit' | 'deny' | undefined;
  if (p['type'] === 'permit' || p['type'] === 'deny') type = p['type'];
  else if (p['type'] === undefined)
    issue('required', `${at}.type`, 'provision.type is required (permit or deny)');
  else issue('code-invalid', `${at}.type`, 'provision.type must be permit or deny');

  const period = p['period'] !== undefined ? parsePeriod(p['period'], `${at}.period`, issue) : undefined;

  const actors: string[] = [];
  if (p['actor'] !== undefined) {
    if (!Array.isArray(p['actor'])) issue('structure', `${at}.actor`, 'actor must be an array');
    else
      p['actor'].forEach((a: unknown, i: number) => {
        const inst = isObj(a) ? parseInstitutionReference(a['reference']) : undefined;
        if (inst === undefined)
          issue(
            'value',
            `${at}.actor[${i}].reference`,
            `actor.reference must be Organization/<institution id> or identifier ${INSTITUTION_SYSTEM}|<institution id>`,
          );
        else if (!actors.includes(inst)) actors.push(inst);
      });
  }

  const purposes: PurposeOfUse[] = [];
  if (p['purpose'] !== undefined) {
    if (!Array.isArray(p['purpose']))
      issue('structure', `${at}.purpose`, 'purpose must be an array of Coding');
    else
      p['purpose'].forEach((c: unknown, i: number) => {
        if (
          !isObj(c) ||
          c['system'] !== PURPOSE_OF_USE_SYSTEM ||
          !PURPOSES_OF_USE.includes(c['code'] as PurposeOfUse)
        )
          issue(
            'code-invalid',
            `${at}.purpose[${i}]`,
            `purpose must be ${PURPOSE_OF_USE_SYSTEM} one of ${PURPOSES_OF_USE.join(', ')}`,
          );
        else if (!purposes.includes(c['code'] as PurposeOfUse)) purposes.push(c['code'] as PurposeOfUse);
      });
  }

  const securityLabels: string[] = [];
  if (p['securityLabel'] !== undefined) {
    if (!Array.isArray(p['securityLabel']))
      issue('structure', `${at}.securityLabel`, 'securityLabel must be an array of Coding');
    else
      p['securityLabel'].forEach((c: unknown, i: number) => {
        if (
          !isObj(c) ||
          (c['system'] !== SENSITIVITY_SYSTEM && c['system'] !== CONFIDENTIALITY_SYSTEM) ||
          typeof c['code'] !== 'string' ||
          !/^[A-Za-z0-9_-]{1,64}$/.test(c['code'])
        )
          issue(
            'code-invalid',
            `${at}.securityLabel[${i}]`,
            `securityLabel must be a code of ${SENSITIVITY_SYSTEM} or ${CONFIDENTIALITY_SYSTEM}`,
          );
        else if (!securityLabels.includes(c['code'])) securityLabels.push(c['code']);
      });
  }

  for (const key of ['data', 'class', 'code', 'dataPeriod', 'provision'] as const) {
    if (p[key] !== undefined && !(Array.isArray(p[key]) && p[key].length === 0))
      issue('not-supported', `${at}.${key}`, `${key} in a nested provision is not supported`);
  }
  if (issue.count() !== before || !type) return undefined;
  return { type, actors, purposes, securityLabels, ...(period ? { period } : {}) };
}

function parseRecordedBy(r: Obj, issue: Issue): string {
  const orgs = r['organization'];
  if (Array.isArray(orgs) && orgs.length > 0) {
    const inst = parseInstitutionReference(orgs[0]);
    if (inst !== undefined) return inst;
    issue(
      'value',
      'Consent.organization[0]',
      `organization must be Organization/<institution id> or identifier ${INSTITUTION_SYSTEM}|<institution id>`,
    );
    return 'unknown';
  }
  const performers = r['performer'];
  if (Array.isArray(performers) && performers.length > 0) {
    const p: unknown = performers[0];
    const inst = parseInstitutionReference(p);
    if (inst !== undefined) return inst;
    const ref = isObj(p) ? p['reference'] : undefined;
    if (typeof ref === 'string') {
      // The patient (or a relative) recorded it: keep the kind only, never the person's id.
      if (/^(Patient|RelatedPerson)\//.test(ref))
        return ref.startsWith('Patient/') ? 'patient' : 'related-person';
      if (/^(Practitioner|PractitionerRole)\/[A-Za-z0-9\-.]{1,64}$/.test(ref)) return ref;
    }
    issue(
      'value',
      'Consent.performer[0]',
      'performer must reference an Organization, Practitioner, PractitionerRole, Patient or RelatedPerson',
    );
    return 'unknown';
  }
  return 'unknown';
}

/**
 * The directive as a FHIR R4 Consent (for GET). `fromFhirConsent(toFhirConsent(d), meta-of-d)`
 * gives `d` back (except `source`, carried in meta.tag and set by the caller for hl7v2 directives,
 * and `reviewRequired`, which the consent service sets: the review state shows as a meta.tag).
 */
export function toFhirConsent(d: ConsentDirective): Consent {
  const patient: PatientReference =
    d.anchor.kind === 'enterprise'
      ? { reference: `Patient/${d.anchor.enterpriseId}` }
      : { identifier: { system: d.anchor.system, value: d.anchor.value } };
  const recorder = recordedByToFhir(d.recordedBy, patient);
  const root: ConsentProvision = {
    type: d.base,
    ...(d.period ? { period: { ...d.period } } : {}),
    ...(d.provisions.length > 0 ? { provision: d.provisions.map(provisionToFhir) } : {}),
  };
  return {
    resourceType: 'Consent',
    id: d.id,
    meta: {
      versionId: String(d.version),
      lastUpdated: d.recordedAt,
      ...tagsOf(d),
    },
    status: d.status,
    scope: { coding: [{ system: CONSENT_SCOPE_SYSTEM, code: 'patient-privacy' }] },
    category: [{ coding: [{ ...CONSENT_CATEGORY }] }],
    patient,
    dateTime: d.recordedAt,
    ...recorder,
    policyRule: { coding: [{ system: POLICY_RULE_SYSTEM, code: d.base === 'permit' ? 'OPTIN' : 'OPTOUT' }] },
    provision: root,
  };
}

function tagsOf(d: ConsentDirective): Pick<NonNullable<Consent['meta']>, 'tag'> {
  const tags = withReviewTag(
    d.source === 'hl7v2' ? [{ system: CONSENT_SOURCE_TAG_SYSTEM, code: 'hl7v2' }] : [],
    d,
  );
  return tags.length > 0 ? { tag: tags } : {};
}

function recordedByToFhir(
  recordedBy: string,
  patient: PatientReference,
): Pick<Consent, 'organization' | 'performer'> {
  if (recordedBy === 'unknown' || recordedBy === 'related-person') return {};
  if (recordedBy === 'patient') return { performer: [patient] };
  if (recordedBy.includes('/')) return { performer: [{ reference: recordedBy }] };
  return { organization: [{ identifier: { system: INSTITUTION_SYSTEM, value: recordedBy } }] };
}

function provisionToFhir(p: Provision): ConsentProvision {
  return {
    type: p.type,
    ...(p.period ? { period: { ...p.period } } : {}),
    ...(p.actors.length > 0
      ? {
          actor: p.actors.map((a) => ({
            role: {
              coding: [
                {
                  system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType',
                  code: 'IRCP',
                  display: 'information recipient',
                },
              ],
            },
            reference: { identifier: { system: INSTITUTION_SYSTEM, value: a } },
          })),
        }
      : {}),
    ...(p.purposes.length > 0
      ? { purpose: p.purposes.map((code) => ({ system: PURPOSE_OF_USE_SYSTEM, code })) }
      : {}),
    ...(p.securityLabels.length > 0
      ? {
          securityLabel: p.securityLabels.map((code) => ({
            system: CONFIDENTIALITY_CODES.has(code) ? CONFIDENTIALITY_SYSTEM : SENSITIVITY_SYSTEM,
            code,
          })),
        }
      : {}),
  };
}

/** v3-Confidentiality codes; every other label code is written as a v3-ActCode sensitivity code. */
const CONFIDENTIALITY_CODES = new Set(['U', 'L', 'M', 'N', 'R', 'V']);
