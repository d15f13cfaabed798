/**
 * The shared vocabulary of consent: what a patient decided, what the region's policy says, who is
 * asking, and what the answer is. Pure data; the evaluator lives next to it (consent.policy.ts).
 *
 * The answer for one (patient, requester, purpose) is a `PatientDecision`; its `visibility` is
 * small enough to push down into a database query (so paging totals never count hidden items),
 * and `decideItem` re-checks every item that comes back against the same visibility.
 */

/** HL7 v3 PurposeOfUse (http://terminology.hl7.org/CodeSystem/v3-ActReason). */
export const PURPOSE_OF_USE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';
export const PURPOSES_OF_USE = [
  'TREAT', // treatment
  'ETREAT', // emergency treatment: break-the-glass
  'HPAYMT', // healthcare payment
  'HOPERAT', // healthcare operations
  'PUBHLTH', // public health
  'HRESCH', // healthcare research
  'PATRQT', // patient requested
  'COC', // coordination of care (referrals)
] as const;
export type PurposeOfUse = (typeof PURPOSES_OF_USE)[number];

/** Sensitivity security labels (http://terminology.hl7.org/CodeSystem/v3-ActCode). */
export const SENSITIVITY_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
/** Confidentiality codes (http://terminology.hl7.org/CodeSystem/v3-Confidentiality): N, R, V. */
export const CONFIDENTIALITY_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';

/** A security label; the evaluator compares labels by code, whatever the system (as the registry's label_codes). */
export interface SecurityLabel {
  readonly system: string;
  readonly code: string;
}

/** The region's rules, configured per deployment (deploy/demo-region/consent-policy.yaml). */
export interface RegionPolicy {
  /** `opt-out`: shared by default unless the patient opts out; `opt-in`: shared only after an opt-in. */
  readonly defaultSharing: 'opt-in' | 'opt-out';
  /** Purposes for which another institution may ever see a patient's data. */
  readonly sharingPurposes: readonly PurposeOfUse[];
  /** Sensitivity codes hidden from other institutions unless a directive permits them (e.g. ETH, PSY, HIV, SEX). */
  readonly sensitiveByDefault: readonly string[];
  /** Sensitivity codes no break-the-glass can reveal (e.g. 42 CFR Part 2 substance use: ETH, SUD). */
  readonly absoluteLabels: readonly string[];
  /** How long a break-the-glass grant lasts. */
  readonly breakGlassMinutes: number;
  /** Whether PIXm/PDQm/$match may find an opted-out patient for an institution holding no record of them. */
  readonly discoverableWhenOptedOut: boolean;
}

export type DirectiveStatus = 'draft' | 'proposed' | 'active' | 'rejected' | 'inactive' | 'entered-in-error';

export interface Period {
  readonly start?: string; // ISO instant
  readonly end?: string; // ISO instant
}

/**
 * One rule inside a consent directive (FHIR Consent.provision). Empty lists mean "any".
 * `actors` are institution ids (Organization identifiers of the region).
 */
export interface Provision {
  readonly type: 'permit' | 'deny';
  readonly actors: readonly string[];
  readonly purposes: readonly PurposeOfUse[];
  /** Sensitivity codes this provision is about; empty = all data. */
  readonly securityLabels: readonly string[];
  readonly period?: Period;
  /**
   * Set by the consent service (never read from FHIR) on a permit an institution recorded that needs
   * a privacy officer's approval (`needsPrivacyReview`): it counts only while its directive is
   * `active` (approved), never while `proposed` (awaiting review) or `rejected`.
   */
  readonly reviewRequired?: true;
}

/** Where a directive hangs: the person (enterprise id) or one institution's record of them. */
export type ConsentAnchor =
  | { readonly kind: 'enterprise'; readonly enterpriseId: string }
  | { readonly kind: 'source'; readonly system: string; readonly value: string };

/** A patient's recorded consent (FHIR Consent), compiled. */
export interface ConsentDirective {
  readonly id: string;
  readonly version: number;
  readonly status: DirectiveStatus;
  readonly anchor: ConsentAnchor;
  /** Base rule: OPTIN → permit, OPTOUT → deny (Consent.policyRule / provision.type). */
  readonly base: 'permit' | 'deny';
  readonly period?: Period;
  readonly provisions: readonly Provision[];
  /** Who recorded it (Consent.performer / organization), free text id, never PHI. */
  readonly recordedBy: string;
  readonly recordedAt: string;
  readonly source: 'fhir' | 'hl7v2';
}

/** An active break-the-glass grant for one institution on one person. */
export interface BreakGlassGrant {
  readonly id: string;
  readonly institutionId: string;
  readonly reason: string;
  readonly grantedAt: string;
  readonly expiresAt: string;
}

/**
 * Everything the evaluator needs about one person: compiled by the consent service, cached in
 * Redis by the exchange, keyed by enterprise id and guarded by `version` (bumped on every change
 * of any input: a directive, a grant, or a link that moves a source record).
 */
export interface PatientPolicy {
  readonly enterpriseId: string;
  readonly version: number;
  readonly directives: readonly ConsentDirective[];
  readonly breakGlass: readonly BreakGlassGrant[];
  /** Institutions holding a source record of this person (they always see their own records). */
  readonly holdingInstitutions: readonly string[];
}

export interface AccessRequest {
  readonly institutionId: string;
  readonly purposeOfUse: PurposeOfUse;
  /** Present when the caller asks to break the glass (purpose ETREAT). */
  readonly breakGlassReason?: string;
}

/**
 * What a query may return for one person, small enough to push into SQL:
 * an item is visible iff it comes from `ownInstitution`, or `others` is 'all' and none of its
 * sensitivity codes is in `deniedLabels`.
 */
export interface Visibility {
  readonly ownInstitution: string;
  readonly others: 'all' | 'none';
  readonly deniedLabels: readonly string[];
}

export type Obligation =
  | { readonly kind: 'audit' }
  | { readonly kind: 'open-privacy-review'; readonly reason: string }
  | { readonly kind: 'redact'; readonly paths: readonly string[] };

export interface PatientDecision {
  /** Whether PIXm/PDQm/$match may reveal that this person exists to the requester. */
  readonly discoverable: boolean;
  readonly visibility: Visibility;
  /** `applied`: an opt-out was overridden by a (new or active) grant; `refused`: asked but not allowed. */
  readonly breakGlass: 'not-requested' | 'applied' | 'refused';
  /** Short machine-readable reasons for the audit record, e.g. 'opt-out', 'org-deny', 'label-deny:PSY'. */
  readonly reasons: readonly string[];
  readonly obligations: readonly Obligation[];
}

/** An item as the evaluator sees it. */
export interface ItemFacts {
  readonly sourceInstitution: string;
  readonly securityLabels: readonly SecurityLabel[];
}

export interface ItemDecision {
  readonly permit: boolean;
  readonly reason: string;
}
