import type { ConsentDirective } from '@tessera/consent-policy';
import { countingProvisions, directiveCounts } from '@tessera/consent-policy';
import { isConsentOperator, isPrivacyOfficer } from '../http/consent-caller';
import type { ConsentCaller } from '../http/consent-caller';

/**
 * Who may change a directive (README "Ownership of consent"): the institution that recorded it
 * (its FHIR client, or its feed for a PD1-12 directive); a regional consent operator only a
 * directive a regional operator recorded; a privacy officer any, with a reason, audited.
 */
export type ChangeRight =
  | { readonly kind: 'owner' }
  | { readonly kind: 'operator' }
  | { readonly kind: 'privacy-officer' }
  | { readonly kind: 'forbidden'; readonly diagnostics: string };

export const RECORDED_BY_ANOTHER_INSTITUTION =
  'This Consent directive was recorded by another institution: only the institution that recorded it, or a privacy officer, may read or change it.';
export const RECORDED_BY_AN_INSTITUTION =
  'This Consent directive was recorded by an institution: only that institution may change it, or a privacy officer (role privacy.officer) stating the reason in X-Tessera-Reason.';

/** `owner`: the recording institution, null when a regional operator recorded the directive. */
export function changeRight(caller: ConsentCaller, owner: string | null): ChangeRight {
  if (caller.kind === 'institution') {
    return owner === caller.institutionId
      ? { kind: 'owner' }
      : { kind: 'forbidden', diagnostics: RECORDED_BY_ANOTHER_INSTITUTION };
  }
  if (owner === null && isConsentOperator(caller)) return { kind: 'operator' };
  if (isPrivacyOfficer(caller)) return { kind: 'privacy-officer' };
  return { kind: 'forbidden', diagnostics: RECORDED_BY_AN_INSTITUTION };
}

/** Regional operators (consent.read/consent.write, privacy officers) read every directive; an institution its own. */
export function mayRead(caller: ConsentCaller, owner: string | null): boolean {
  return caller.kind === 'regional' || owner === caller.institutionId;
}

/**
 * A directive that, while it counts (also while its permits await a privacy review), keeps some data
 * from some institution: an opt-out, or any deny provision.
 */
export function restrictsSharing(d: ConsentDirective, now: Date): boolean {
  return (
    directiveCounts(d, now) && (d.base === 'deny' || countingProvisions(d).some((p) => p.type === 'deny'))
  );
}
