import type {
  AccessRequest,
  BreakGlassGrant,
  ConsentDirective,
  ItemDecision,
  ItemFacts,
  Obligation,
  PatientDecision,
  PatientPolicy,
  Period,
  Provision,
  RegionPolicy,
  SecurityLabel,
  Visibility,
} from './model';

/**
 * The consent evaluator (README "Decision rules" states every rule; keep the two in step).
 * Pure: no clock, no I/O; `now` is an argument.
 */

/** Whether `now` lies in `period` (both ends inclusive; an open end is unbounded). */
export function withinPeriod(period: Period | undefined, now: Date): boolean {
  if (!period) return true;
  const t = now.getTime();
  if (period.start !== undefined && !(Date.parse(period.start) <= t)) return false;
  if (period.end !== undefined && !(t <= Date.parse(period.end))) return false;
  return true;
}

/**
 * Whether a directive's status lets it count: `active`, or `proposed` / `rejected` when the consent
 * service put it there for a privacy review (some provision has `reviewRequired`). Such a directive
 * counts without the provisions under review (`countingProvisions`): its restrictions and ordinary
 * permits hold at once, the reviewed permits only once approved. A `proposed` directive without a
 * provision under review (a client's own proposal) does not count, as any other status.
 */
export function statusCounts(d: ConsentDirective): boolean {
  if (d.status === 'active') return true;
  return (
    (d.status === 'proposed' || d.status === 'rejected') &&
    d.provisions.some((p) => p.reviewRequired === true)
  );
}

/** A directive counts iff its status counts (`statusCounts`) and `now` is within its period. */
export function directiveCounts(d: ConsentDirective, now: Date): boolean {
  return statusCounts(d) && withinPeriod(d.period, now);
}

/** The provisions of a directive that count: all once `active`, else those not under privacy review. */
export function countingProvisions(d: ConsentDirective): readonly Provision[] {
  return d.status === 'active' ? d.provisions : d.provisions.filter((p) => p.reviewRequired !== true);
}

/**
 * Whether a permit recorded by an institution needs a privacy officer's approval before it counts
 * (README "Privacy review of recorded permits"): every permit that names a security label, whoever
 * it names. A label permit lifts a sensitive category for some institution; two institutions could
 * otherwise lift labels for each other with no one checking the patient asked for it. Denies and
 * whole-data permits never need it; neither does anything a regional operator or privacy officer
 * records.
 */
export function needsPrivacyReview(p: Provision): boolean {
  return p.type === 'permit' && p.securityLabels.length > 0;
}

/**
 * A directive as recorded by an institution: when it would count (`active`, or `proposed`) and
 * holds permits that need review, they are marked `reviewRequired` and the directive becomes
 * `proposed`; otherwise the directive is returned unchanged (marks a client sent cannot exist: the
 * FHIR mapper never reads them).
 */
export function withPrivacyReview(d: ConsentDirective): ConsentDirective {
  if (d.status !== 'active' && d.status !== 'proposed') return d;
  const provisions = d.provisions.map((p): Provision =>
    needsPrivacyReview(p) ? { ...p, reviewRequired: true } : p,
  );
  if (!provisions.some((p) => p.reviewRequired === true)) return d;
  return { ...d, status: 'proposed', provisions };
}

/** Whether a directive awaits a privacy officer's decision: `proposed` with provisions under review. */
export function awaitsPrivacyReview(d: ConsentDirective): boolean {
  return d.status === 'proposed' && d.provisions.some((p) => p.reviewRequired === true);
}

/**
 * What of an enterprise-id-anchored directive follows a source record it covered onto another
 * person (after an unmerge or a link correction the record may belong to someone else): its
 * restrictions only. An opt-out (base deny) keeps its base and deny provisions, its permit exceptions
 * dropped; an opt-in (base permit) does not follow at all (undefined), since its base is itself a
 * permission for a person the patient may not be.
 */
export function restrictionsOnly(d: ConsentDirective): ConsentDirective | undefined {
  if (d.base !== 'deny') return undefined;
  const provisions = d.provisions.filter((p) => p.type === 'deny');
  return provisions.length === d.provisions.length ? d : { ...d, provisions };
}

/** A grant counts for `institutionId` from `grantedAt` (inclusive) until `expiresAt` (exclusive). */
export function grantIsActive(g: BreakGlassGrant, institutionId: string, now: Date): boolean {
  const t = now.getTime();
  return g.institutionId === institutionId && Date.parse(g.grantedAt) <= t && t < Date.parse(g.expiresAt);
}

export interface CompilePolicyInput {
  readonly enterpriseId: string;
  readonly version: number;
  readonly directives: readonly ConsentDirective[];
  readonly breakGlass: readonly BreakGlassGrant[];
  readonly holdingInstitutions: readonly string[];
}

/**
 * Builds the PatientPolicy the evaluator and the cache use: keeps directives whose status counts
 * (`statusCounts`: `active`, or under privacy review — the evaluator then skips the provisions under
 * review) (and, given `now`, drops those whose period has ended and grants that expired — they can never
 * count again), sorts directives by (recordedAt, id), grants by (expiresAt, id), de-duplicates and
 * sorts the holding institutions. The single place where a policy is assembled.
 */
export function compilePolicy(input: CompilePolicyInput, now?: Date): PatientPolicy;
export function compilePolicy(
  enterpriseId: string,
  version: number,
  directives: readonly ConsentDirective[],
  grants: readonly BreakGlassGrant[],
  holdingInstitutions: readonly string[],
  now?: Date,
): PatientPolicy;
export function compilePolicy(
  first: CompilePolicyInput | string,
  second?: number | Date,
  directives?: readonly ConsentDirective[],
  grants?: readonly BreakGlassGrant[],
  holdingInstitutions?: readonly string[],
  sixth?: Date,
): PatientPolicy {
  const input: CompilePolicyInput =
    typeof first === 'string'
      ? {
          enterpriseId: first,
          version: second as number,
          directives: directives ?? [],
          breakGlass: grants ?? [],
          holdingInstitutions: holdingInstitutions ?? [],
        }
      : first;
  const now = typeof first === 'string' ? sixth : (second as Date | undefined);
  const t = now?.getTime();
  const ended = (p: Period | undefined): boolean =>
    t !== undefined && p?.end !== undefined && Date.parse(p.end) < t;
  return {
    enterpriseId: input.enterpriseId,
    version: input.version,
    directives: input.directives
      .filter((d) => statusCounts(d) && !ended(d.period))
      .slice()
      .sort((a, b) => cmp(a.recordedAt, b.recordedAt) || cmp(a.id, b.id)),
    breakGlass: input.breakGlass
      .filter((g) => t === undefined || t < Date.parse(g.expiresAt))
      .slice()
      .sort((a, b) => cmp(a.expiresAt, b.expiresAt) || cmp(a.id, b.id)),
    holdingInstitutions: [...new Set(input.holdingInstitutions)].sort(),
  };
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The sensitivity codes of an item's labels: every non-empty code, whatever its system, de-duplicated and sorted. */
export function sensitivityCodes(labels: readonly SecurityLabel[]): string[] {
  const codes = new Set<string>();
  for (const l of labels) {
    const code = typeof l.code === 'string' ? l.code.trim() : '';
    if (code !== '') codes.add(code);
  }
  return [...codes].sort();
}

/**
 * The decision for one (person, requester, purpose) at `now`. `policy` undefined = unknown person
 * (no enterprise id): the region default with no directives, no grants, no holding institutions.
 */
export function decidePatient(
  region: RegionPolicy,
  policy: PatientPolicy | undefined,
  request: AccessRequest,
  now: Date,
): PatientDecision {
  const own = request.institutionId;
  const purpose = request.purposeOfUse;
  const reasons = new Set<string>();
  const obligations: Obligation[] = [{ kind: 'audit' }];
  const directives = (policy?.directives ?? []).filter((d) => directiveCounts(d, now));
  const applies = (p: Provision): boolean =>
    (p.actors.length === 0 || p.actors.includes(own)) &&
    (p.purposes.length === 0 || p.purposes.includes(purpose)) &&
    withinPeriod(p.period, now);

  // Rule 2: the region decides for which purposes anything leaves the holding institution.
  const purposeShared = region.sharingPurposes.includes(purpose);

  // Rule 3: whole-data sharing (provisions without security labels), deny over permit.
  const denyReasons = new Set<string>();
  const permitReasons = new Set<string>();
  for (const d of directives) {
    const whole = countingProvisions(d).filter((p) => p.securityLabels.length === 0 && applies(p));
    const denies = whole.filter((p) => p.type === 'deny');
    if (denies.length > 0) {
      for (const p of denies)
        denyReasons.add(
          p.actors.length > 0 ? 'org-deny' : p.purposes.length > 0 ? 'purpose-deny' : 'provision-deny',
        );
    } else if (whole.some((p) => p.type === 'permit')) permitReasons.add('org-permit');
    else if (d.base === 'deny') denyReasons.add('opt-out');
    else permitReasons.add('opt-in');
  }
  let wholeDenied: boolean;
  if (denyReasons.size > 0) wholeDenied = true;
  else if (permitReasons.size > 0) wholeDenied = false;
  else wholeDenied = region.defaultSharing === 'opt-in';
  if (region.defaultSharing === 'opt-in' && denyReasons.size === 0 && permitReasons.size === 0)
    denyReasons.add('no-opt-in');

  // Rule 4: sensitivity labels.
  const labelDenies = new Set<string>();
  const labelPermits = new Map<string, boolean>(); // label → some permit names the requester explicitly
  for (const d of directives) {
    // A permit under privacy review (reviewRequired, directive not yet active) lifts nothing.
    for (const p of countingProvisions(d)) {
      if (p.securityLabels.length === 0 || !applies(p)) continue;
      for (const label of p.securityLabels) {
        if (p.type === 'deny') labelDenies.add(label);
        else labelPermits.set(label, (labelPermits.get(label) ?? false) || p.actors.length > 0);
      }
    }
  }
  const deniedLabels = new Set<string>();
  const liftedLabels: string[] = [];
  for (const label of region.sensitiveByDefault) {
    const named = labelPermits.get(label);
    const lifted =
      named !== undefined && !labelDenies.has(label) && (named || !region.absoluteLabels.includes(label));
    if (lifted) liftedLabels.push(label);
    else deniedLabels.add(label);
  }
  for (const label of labelDenies) deniedLabels.add(label);

  // Rule 5: break-the-glass.
  const reason = request.breakGlassReason?.trim() ?? '';
  const grant = purpose === 'ETREAT' ? policy?.breakGlass.find((g) => grantIsActive(g, own, now)) : undefined;
  const asked = purpose === 'ETREAT' && (reason !== '' || grant !== undefined);
  let breakGlass: PatientDecision['breakGlass'] = 'not-requested';
  let others: Visibility['others'] = purposeShared && !wholeDenied ? 'all' : 'none';

  if (!purposeShared) {
    reasons.add('purpose-not-shared');
    if (asked) {
      breakGlass = 'refused';
      reasons.add('break-glass-refused');
    }
  } else {
    for (const r of [...denyReasons, ...(wholeDenied ? [] : permitReasons)]) reasons.add(r);
    if (!wholeDenied) {
      for (const l of liftedLabels) reasons.add(`label-permit:${l}`);
      for (const l of [...labelDenies].sort()) reasons.add(`label-deny:${l}`);
    }
    const liftable = wholeDenied || [...deniedLabels].some((l) => !region.absoluteLabels.includes(l));
    if (asked && liftable) {
      breakGlass = 'applied';
      others = 'all';
      for (const l of [...deniedLabels]) if (!region.absoluteLabels.includes(l)) deniedLabels.delete(l);
      if (grant) reasons.add('break-glass:active-grant');
      else {
        reasons.add('break-glass');
        obligations.push({ kind: 'open-privacy-review', reason });
      }
    } else if (asked) reasons.add('break-glass-not-needed');
  }

  const visibility: Visibility = {
    ownInstitution: own,
    others,
    deniedLabels: others === 'all' ? [...deniedLabels].sort() : [],
  };
  const discoverable =
    (policy?.holdingInstitutions.includes(own) ?? false) ||
    others === 'all' ||
    region.discoverableWhenOptedOut;
  return { discoverable, visibility, breakGlass, reasons: [...reasons], obligations };
}

/**
 * Re-check of one item against a visibility (the same predicate the registry pushes into SQL):
 * visible iff it comes from `ownInstitution`, or `others` is 'all' and none of its label codes is denied.
 */
export function decideItem(visibility: Visibility, item: ItemFacts): ItemDecision {
  if (item.sourceInstitution === visibility.ownInstitution)
    return { permit: true, reason: 'own-institution' };
  if (visibility.others === 'none') return { permit: false, reason: 'not-shared' };
  const hit = sensitivityCodes(item.securityLabels).find((c) => visibility.deniedLabels.includes(c));
  if (hit !== undefined) return { permit: false, reason: `label-deny:${hit}` };
  return { permit: true, reason: 'shared' };
}
