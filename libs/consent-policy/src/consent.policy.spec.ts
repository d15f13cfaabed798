import {
  awaitsPrivacyReview,
  compilePolicy,
  decideItem,
  decidePatient,
  directiveCounts,
  needsPrivacyReview,
  restrictionsOnly,
  sensitivityCodes,
  withPrivacyReview,
} from './consent.policy';
import type {
  AccessRequest,
  BreakGlassGrant,
  ConsentDirective,
  PatientPolicy,
  Provision,
  RegionPolicy,
} from './model';
import { SENSITIVITY_SYSTEM } from './model';

const region: RegionPolicy = {
  defaultSharing: 'opt-out',
  sharingPurposes: ['TREAT', 'ETREAT', 'COC', 'PATRQT'],
  sensitiveByDefault: ['PSY', 'HIV', 'SEX', 'SDV', 'ETH', 'SUD'],
  absoluteLabels: ['ETH', 'SUD'],
  breakGlassMinutes: 60,
  discoverableWhenOptedOut: false,
};
const optInRegion: RegionPolicy = { ...region, defaultSharing: 'opt-in' };
const NOW = new Date('2026-11-22T12:00:00.000Z');
const ALL_SENSITIVE = ['ETH', 'HIV', 'PSY', 'SDV', 'SEX', 'SUD'];

let seq = 0;
function directive(
  base: 'permit' | 'deny',
  provisions: Partial<Provision>[] = [],
  extra: Partial<ConsentDirective> = {},
): ConsentDirective {
  seq += 1;
  return {
    id: `c-${seq}`,
    version: 1,
    status: 'active',
    anchor: { kind: 'enterprise', enterpriseId: 'E1' },
    base,
    provisions: provisions.map((p) => ({
      type: 'permit',
      actors: [],
      purposes: [],
      securityLabels: [],
      ...p,
    })),
    recordedBy: 'st-aurelia',
    recordedAt: '2026-01-01T00:00:00.000Z',
    source: 'fhir',
    ...extra,
  };
}
function policy(directives: ConsentDirective[], extra: Partial<PatientPolicy> = {}): PatientPolicy {
  return {
    enterpriseId: 'E1',
    version: 1,
    directives,
    breakGlass: [],
    holdingInstitutions: ['st-aurelia'],
    ...extra,
  };
}
const treat = (institutionId = 'riverside'): AccessRequest => ({ institutionId, purposeOfUse: 'TREAT' });
const etreat = (breakGlassReason?: string, institutionId = 'riverside'): AccessRequest => ({
  institutionId,
  purposeOfUse: 'ETREAT',
  ...(breakGlassReason === undefined ? {} : { breakGlassReason }),
});
const grant = (expiresAt: string, institutionId = 'riverside'): BreakGlassGrant => ({
  id: 'g-1',
  institutionId,
  reason: 'unconscious patient',
  grantedAt: '2026-11-22T11:30:00.000Z',
  expiresAt,
});

describe('decidePatient', () => {
  it('opt-out region, no directives: others see everything except the sensitive labels', () => {
    const d = decidePatient(region, policy([]), treat(), NOW);
    expect(d).toEqual({
      discoverable: true,
      visibility: { ownInstitution: 'riverside', others: 'all', deniedLabels: ALL_SENSITIVE },
      breakGlass: 'not-requested',
      reasons: [],
      obligations: [{ kind: 'audit' }],
    });
  });

  it('unknown person (no policy) gets the region default; in an opt-in region others see nothing', () => {
    expect(decidePatient(region, undefined, treat(), NOW).visibility.others).toBe('all');
    const d = decidePatient(optInRegion, undefined, treat(), NOW);
    expect(d.visibility).toEqual({ ownInstitution: 'riverside', others: 'none', deniedLabels: [] });
    expect(d.reasons).toEqual(['no-opt-in']);
    expect(d.discoverable).toBe(false);
    expect(d.obligations).toEqual([{ kind: 'audit' }]);
  });

  it('opt-in region: an opt-in directive shares with others', () => {
    const d = decidePatient(optInRegion, policy([directive('permit')]), treat(), NOW);
    expect(d.visibility.others).toBe('all');
    expect(d.reasons).toEqual(['opt-in']);
  });

  it('opt-out: others see nothing, the requester keeps its own items, and it is not discoverable', () => {
    const d = decidePatient(region, policy([directive('deny')]), treat(), NOW);
    expect(d.visibility).toEqual({ ownInstitution: 'riverside', others: 'none', deniedLabels: [] });
    expect(d.reasons).toEqual(['opt-out']);
    expect(d.discoverable).toBe(false);
    expect(decideItem(d.visibility, { sourceInstitution: 'riverside', securityLabels: [] })).toEqual({
      permit: true,
      reason: 'own-institution',
    });
    expect(decideItem(d.visibility, { sourceInstitution: 'st-aurelia', securityLabels: [] })).toEqual({
      permit: false,
      reason: 'not-shared',
    });
  });

  it('opted-out patient stays discoverable by a holding institution, or when the region allows it', () => {
    const p = policy([directive('deny')]);
    expect(decidePatient(region, p, treat('st-aurelia'), NOW).discoverable).toBe(true);
    expect(decidePatient({ ...region, discoverableWhenOptedOut: true }, p, treat(), NOW).discoverable).toBe(
      true,
    );
  });

  it('purpose not in the region sharing purposes: own items only, whatever the directives say', () => {
    const d = decidePatient(
      region,
      policy([directive('permit')]),
      { institutionId: 'riverside', purposeOfUse: 'HPAYMT' },
      NOW,
    );
    expect(d.visibility).toEqual({ ownInstitution: 'riverside', others: 'none', deniedLabels: [] });
    expect(d.reasons).toEqual(['purpose-not-shared']);
  });

  it('organization deny applies to the named institution only', () => {
    const p = policy([directive('permit', [{ type: 'deny', actors: ['riverside'] }])]);
    expect(decidePatient(region, p, treat('riverside'), NOW)).toMatchObject({
      visibility: { others: 'none' },
      reasons: ['org-deny'],
    });
    expect(decidePatient(region, p, treat('north-valley'), NOW).visibility.others).toBe('all');
  });

  it('purpose deny applies to that purpose only', () => {
    const p = policy([directive('permit', [{ type: 'deny', purposes: ['COC'] }])]);
    expect(
      decidePatient(region, p, { institutionId: 'riverside', purposeOfUse: 'COC' }, NOW).reasons,
    ).toEqual(['purpose-deny']);
    expect(decidePatient(region, p, treat(), NOW).visibility.others).toBe('all');
  });

  it('opt-out with an organization exception: only that institution sees, for the named purpose', () => {
    const p = policy([
      directive('deny', [{ type: 'permit', actors: ['north-valley'], purposes: ['TREAT'] }]),
    ]);
    expect(decidePatient(region, p, treat('north-valley'), NOW)).toMatchObject({
      visibility: { others: 'all' },
      reasons: ['org-permit'],
    });
    expect(
      decidePatient(region, p, { institutionId: 'north-valley', purposeOfUse: 'COC' }, NOW).visibility.others,
    ).toBe('none');
    expect(decidePatient(region, p, treat('riverside'), NOW).visibility.others).toBe('none');
  });

  it('deny overrides permit across directives and inside one directive', () => {
    const across = policy([
      directive('permit', [{ type: 'permit', actors: ['riverside'] }]),
      directive('deny'),
    ]);
    expect(decidePatient(region, across, treat(), NOW)).toMatchObject({
      visibility: { others: 'none' },
      reasons: ['opt-out'],
    });
    const inside = policy([
      directive('deny', [
        { type: 'permit', actors: ['riverside'] },
        { type: 'deny', purposes: ['TREAT'] },
      ]),
    ]);
    expect(decidePatient(region, inside, treat(), NOW)).toMatchObject({
      visibility: { others: 'none' },
      reasons: ['purpose-deny'],
    });
  });

  it('ignores directives that are not active, not yet started or expired, and provisions outside their period', () => {
    const notYet = directive('deny', [], { period: { start: '2026-12-01T00:00:00.000Z' } });
    const expired = directive('deny', [], { period: { end: '2026-11-01T00:00:00.000Z' } });
    const inactive = directive('deny', [], { status: 'inactive' });
    const provisionLater = directive('permit', [
      { type: 'deny', actors: ['riverside'], period: { start: '2027-01-01T00:00:00.000Z' } },
    ]);
    const d = decidePatient(region, policy([notYet, expired, inactive, provisionLater]), treat(), NOW);
    expect(d.visibility.others).toBe('all');
    expect(directiveCounts(notYet, NOW)).toBe(false);
    expect(directiveCounts(expired, NOW)).toBe(false);
    expect(directiveCounts(inactive, NOW)).toBe(false);
    expect(directiveCounts(notYet, new Date('2026-12-01T00:00:00.000Z'))).toBe(true);
    expect(directiveCounts(expired, new Date('2026-11-01T00:00:00.000Z'))).toBe(true);
  });

  it('label deny adds to the denied labels; a matching permit lifts a sensitive label', () => {
    const p = policy([
      directive('permit', [
        { type: 'deny', securityLabels: ['R'] },
        { type: 'permit', securityLabels: ['PSY', 'HIV'], purposes: ['TREAT'] },
      ]),
    ]);
    const d = decidePatient(region, p, treat(), NOW);
    expect(d.visibility.deniedLabels).toEqual(['ETH', 'R', 'SDV', 'SEX', 'SUD']);
    expect(d.reasons).toEqual(['opt-in', 'label-permit:PSY', 'label-permit:HIV', 'label-deny:R']);
    expect(
      decidePatient(region, p, { institutionId: 'riverside', purposeOfUse: 'COC' }, NOW).visibility
        .deniedLabels,
    ).toEqual(['ETH', 'HIV', 'PSY', 'R', 'SDV', 'SEX', 'SUD']);
  });

  it('a label deny beats a label permit', () => {
    const p = policy([
      directive('permit', [{ type: 'permit', securityLabels: ['PSY'] }]),
      directive('permit', [{ type: 'deny', securityLabels: ['PSY'] }]),
    ]);
    expect(decidePatient(region, p, treat(), NOW).visibility.deniedLabels).toContain('PSY');
  });

  it('absolute labels are lifted only by a permit that names the requester', () => {
    const general = policy([directive('permit', [{ type: 'permit', securityLabels: ['SUD'] }])]);
    expect(decidePatient(region, general, treat(), NOW).visibility.deniedLabels).toContain('SUD');
    const named = policy([
      directive('permit', [{ type: 'permit', securityLabels: ['SUD'], actors: ['riverside'] }]),
    ]);
    expect(decidePatient(region, named, treat(), NOW).visibility.deniedLabels).not.toContain('SUD');
    expect(decidePatient(region, named, treat('north-valley'), NOW).visibility.deniedLabels).toContain('SUD');
  });

  describe('break-the-glass', () => {
    it('lifts an opt-out and non-absolute labels, never absolute ones; opens a privacy review', () => {
      const p = policy([directive('deny', [{ type: 'deny', securityLabels: ['R'] }])]);
      const d = decidePatient(region, p, etreat('unconscious, allergies unknown'), NOW);
      expect(d).toEqual({
        discoverable: true,
        visibility: { ownInstitution: 'riverside', others: 'all', deniedLabels: ['ETH', 'SUD'] },
        breakGlass: 'applied',
        reasons: ['opt-out', 'break-glass'],
        obligations: [
          { kind: 'audit' },
          { kind: 'open-privacy-review', reason: 'unconscious, allergies unknown' },
        ],
      });
      expect(
        decideItem(d.visibility, {
          sourceInstitution: 'st-aurelia',
          securityLabels: [{ system: SENSITIVITY_SYSTEM, code: 'SUD' }],
        }),
      ).toEqual({
        permit: false,
        reason: 'label-deny:SUD',
      });
      expect(
        decideItem(d.visibility, {
          sourceInstitution: 'st-aurelia',
          securityLabels: [{ system: SENSITIVITY_SYSTEM, code: 'PSY' }],
        }).permit,
      ).toBe(true);
    });

    it('lifts an organization deny', () => {
      const p = policy([directive('permit', [{ type: 'deny', actors: ['riverside'] }])]);
      expect(decidePatient(region, p, etreat('stroke'), NOW)).toMatchObject({
        breakGlass: 'applied',
        visibility: { others: 'all' },
        reasons: ['org-deny', 'break-glass'],
      });
    });

    it('an active grant applies to ETREAT without a new review; an expired grant does not', () => {
      const active = policy([directive('deny')], { breakGlass: [grant('2026-11-22T12:30:00.000Z')] });
      const d = decidePatient(region, active, etreat(), NOW);
      expect(d).toMatchObject({
        breakGlass: 'applied',
        visibility: { others: 'all' },
        reasons: ['opt-out', 'break-glass:active-grant'],
      });
      expect(d.obligations).toEqual([{ kind: 'audit' }]);
      expect(decidePatient(region, active, etreat('again'), NOW).obligations).toEqual([{ kind: 'audit' }]);

      const expired = policy([directive('deny')], { breakGlass: [grant('2026-11-22T12:00:00.000Z')] });
      expect(decidePatient(region, expired, etreat(), NOW)).toMatchObject({
        breakGlass: 'not-requested',
        visibility: { others: 'none' },
      });
      const otherInstitution = policy([directive('deny')], {
        breakGlass: [grant('2026-11-22T12:30:00.000Z', 'north-valley')],
      });
      expect(decidePatient(region, otherInstitution, etreat(), NOW).breakGlass).toBe('not-requested');
    });

    it('a grant does not apply to non-emergency purposes', () => {
      const p = policy([directive('deny')], { breakGlass: [grant('2026-11-22T12:30:00.000Z')] });
      expect(decidePatient(region, p, treat(), NOW)).toMatchObject({
        breakGlass: 'not-requested',
        visibility: { others: 'none' },
      });
    });

    it('ETREAT without a reason follows the normal rules', () => {
      const d = decidePatient(region, policy([directive('deny')]), etreat('   '), NOW);
      expect(d).toMatchObject({
        breakGlass: 'not-requested',
        visibility: { others: 'none' },
        reasons: ['opt-out'],
      });
    });

    it('is refused when the region does not share for ETREAT', () => {
      const noEmergency: RegionPolicy = { ...region, sharingPurposes: ['TREAT'] };
      const d = decidePatient(noEmergency, policy([directive('deny')]), etreat('stroke'), NOW);
      expect(d).toMatchObject({
        breakGlass: 'refused',
        visibility: { others: 'none' },
        reasons: ['purpose-not-shared', 'break-glass-refused'],
      });
      expect(d.obligations).toEqual([{ kind: 'audit' }]);
    });

    it('is not applied when there is nothing it may lift', () => {
      const onlyAbsolute: RegionPolicy = { ...region, sensitiveByDefault: ['SUD'], absoluteLabels: ['SUD'] };
      const d = decidePatient(onlyAbsolute, policy([]), etreat('stroke'), NOW);
      expect(d).toMatchObject({
        breakGlass: 'not-requested',
        visibility: { others: 'all', deniedLabels: ['SUD'] },
        reasons: ['break-glass-not-needed'],
      });
      expect(d.obligations).toEqual([{ kind: 'audit' }]);
    });
  });
});

describe('decideItem', () => {
  const v = { ownInstitution: 'riverside', others: 'all', deniedLabels: ['PSY', 'SUD'] } as const;
  it('permits own items whatever their labels, denies others carrying a denied label (any system)', () => {
    expect(
      decideItem(v, {
        sourceInstitution: 'riverside',
        securityLabels: [{ system: SENSITIVITY_SYSTEM, code: 'PSY' }],
      }).permit,
    ).toBe(true);
    expect(
      decideItem(v, {
        sourceInstitution: 'north-valley',
        securityLabels: [{ system: 'urn:other', code: 'PSY' }],
      }),
    ).toEqual({
      permit: false,
      reason: 'label-deny:PSY',
    });
    expect(
      decideItem(v, {
        sourceInstitution: 'north-valley',
        securityLabels: [{ system: SENSITIVITY_SYSTEM, code: 'HIV' }],
      }),
    ).toEqual({
      permit: true,
      reason: 'shared',
    });
  });
});

describe('sensitivityCodes', () => {
  it('returns unique trimmed codes, sorted', () => {
    expect(
      sensitivityCodes([
        { system: 'a', code: 'PSY' },
        { system: 'b', code: ' PSY ' },
        { system: 'a', code: '' },
        { system: 'a', code: 'HIV' },
      ]),
    ).toEqual(['HIV', 'PSY']);
  });
});

describe('compilePolicy', () => {
  const d1 = directive('deny', [], { id: 'b', recordedAt: '2026-02-01T00:00:00.000Z' });
  const d2 = directive('permit', [], { id: 'a', recordedAt: '2026-02-01T00:00:00.000Z' });
  const d3 = directive('deny', [], { id: 'c', status: 'inactive' });
  const d4 = directive('deny', [], { id: 'd', period: { end: '2026-11-01T00:00:00.000Z' } });
  const gOld = { ...grant('2026-11-22T11:59:00.000Z'), id: 'g-old' };
  const gNew = grant('2026-11-22T12:59:00.000Z');

  it('keeps active directives sorted, de-duplicates holding institutions, and with `now` drops what can never count again', () => {
    const p = compilePolicy('E1', 4, [d1, d2, d3, d4], [gNew, gOld], ['x', 'a', 'x'], NOW);
    expect(p.directives.map((d) => d.id)).toEqual(['a', 'b']);
    expect(p.breakGlass.map((g) => g.id)).toEqual(['g-1']);
    expect(p.holdingInstitutions).toEqual(['a', 'x']);
    expect(p).toMatchObject({ enterpriseId: 'E1', version: 4 });
  });

  it('accepts an object and keeps time-bounded entries without `now`', () => {
    const p = compilePolicy({
      enterpriseId: 'E1',
      version: 1,
      directives: [d4, d3],
      breakGlass: [gOld],
      holdingInstitutions: [],
    });
    expect(p.directives.map((d) => d.id)).toEqual(['d']);
    expect(p.breakGlass).toHaveLength(1);
  });
});

describe('privacy review of permits an institution records', () => {
  const selfEth = { type: 'permit' as const, actors: ['st-aurelia'], securityLabels: ['ETH'] };

  it('needsPrivacyReview: every label permit, whoever it names; never denies or whole-data permits', () => {
    const permit = (p: Partial<Provision>): Provision => ({
      type: 'permit',
      actors: [],
      purposes: [],
      securityLabels: [],
      ...p,
    });
    expect(needsPrivacyReview(permit(selfEth))).toBe(true);
    expect(needsPrivacyReview(permit({ securityLabels: ['PSY'] }))).toBe(true);
    expect(needsPrivacyReview(permit({ actors: ['riverside'], securityLabels: ['ETH'] }))).toBe(true);
    // Even a permit naming another institution for a non-absolute label: two institutions could
    // otherwise lift labels for each other unchecked.
    expect(needsPrivacyReview(permit({ actors: ['riverside'], securityLabels: ['PSY'] }))).toBe(true);
    expect(needsPrivacyReview(permit({ actors: ['st-aurelia'] }))).toBe(false);
    expect(needsPrivacyReview(permit({ ...selfEth, type: 'deny' }))).toBe(false);
  });

  it('withPrivacyReview marks the provisions and proposes the directive; a directive without them is unchanged', () => {
    const d = directive('permit', [selfEth, { type: 'deny', actors: ['riverside'] }]);
    const reviewed = withPrivacyReview(d);
    expect(reviewed.status).toBe('proposed');
    expect(reviewed.provisions.map((p) => p.reviewRequired)).toEqual([true, undefined]);
    expect(awaitsPrivacyReview(reviewed)).toBe(true);
    const plain = directive('permit', [{ actors: ['riverside'] }, { type: 'deny', securityLabels: ['PSY'] }]);
    expect(withPrivacyReview(plain)).toBe(plain);
    const inactive = directive('permit', [selfEth], { status: 'inactive' });
    expect(withPrivacyReview(inactive)).toBe(inactive);
  });

  it('a proposed self-permit for an absolute label lifts nothing; approved (active) it lifts ETH for the recorder only', () => {
    const proposed = withPrivacyReview(directive('permit', [selfEth]));
    const before = decidePatient(region, policy([proposed]), treat('st-aurelia'), NOW);
    expect(before.visibility.deniedLabels).toEqual(ALL_SENSITIVE);
    expect(before.reasons).not.toContain('label-permit:ETH');
    expect(directiveCounts(proposed, NOW)).toBe(true);

    const approved: ConsentDirective = { ...proposed, status: 'active' };
    const after = decidePatient(region, policy([approved]), treat('st-aurelia'), NOW);
    expect(after.visibility.deniedLabels).not.toContain('ETH');
    expect(after.reasons).toContain('label-permit:ETH');
    expect(decidePatient(region, policy([approved]), treat(), NOW).visibility.deniedLabels).toContain('ETH');

    const rejected: ConsentDirective = { ...proposed, status: 'rejected' };
    expect(
      decidePatient(region, policy([rejected]), treat('st-aurelia'), NOW).visibility.deniedLabels,
    ).toContain('ETH');
  });

  it('while proposed or rejected the rest of the directive counts: its opt-out; its label permits only once approved', () => {
    const optOut = withPrivacyReview(
      directive('deny', [selfEth, { type: 'permit', actors: ['riverside'], securityLabels: ['PSY'] }]),
    );
    for (const d of [optOut, { ...optOut, status: 'rejected' as const }]) {
      const own = decidePatient(region, policy([d]), treat('st-aurelia'), NOW);
      expect(own.visibility.others).toBe('none');
      expect(own.reasons).toContain('opt-out');
    }
    const optIn = withPrivacyReview(
      directive('permit', [selfEth, { type: 'permit', actors: ['riverside'], securityLabels: ['PSY'] }]),
    );
    expect(optIn.provisions.map((p) => p.reviewRequired)).toEqual([true, true]);
    const riverside = decidePatient(region, policy([optIn]), treat(), NOW);
    expect(riverside.visibility.deniedLabels).toContain('PSY');
    expect(riverside.visibility.deniedLabels).toContain('ETH');
    const approved = decidePatient(region, policy([{ ...optIn, status: 'active' }]), treat(), NOW);
    expect(approved.visibility.deniedLabels).not.toContain('PSY');
  });

  it('a proposed directive a client sent, with nothing under review, does not count (as before)', () => {
    const sent = directive('deny', [], { status: 'proposed' });
    expect(directiveCounts(sent, NOW)).toBe(false);
    expect(decidePatient(region, policy([sent]), treat(), NOW).visibility.others).toBe('all');
  });

  it('compilePolicy keeps directives under review (with their marks) and drops a client-proposed one', () => {
    const proposed = withPrivacyReview(directive('permit', [selfEth], { id: 'r' }));
    const sent = directive('deny', [], { id: 's', status: 'proposed' });
    const p = compilePolicy('E1', 1, [proposed, sent], [], [], NOW);
    expect(p.directives.map((d) => d.id)).toEqual(['r']);
    expect(p.directives[0]?.provisions[0]?.reviewRequired).toBe(true);
  });
});

describe('restrictionsOnly (what follows a covered record onto another person)', () => {
  it('an opt-out follows with its denies; its permit exceptions stay behind', () => {
    const optOut = directive('deny', [
      { type: 'permit', actors: ['riverside'] },
      { type: 'deny', securityLabels: ['PSY'] },
    ]);
    const carried = restrictionsOnly(optOut);
    expect(carried?.base).toBe('deny');
    expect(carried?.provisions.map((p) => p.type)).toEqual(['deny']);
    const river = decidePatient(region, policy(carried === undefined ? [] : [carried]), treat(), NOW);
    expect(river.visibility.others).toBe('none');
    const plain = directive('deny', [{ type: 'deny', actors: ['riverside'] }]);
    expect(restrictionsOnly(plain)).toBe(plain);
  });

  it('an opt-in or a permit does not follow', () => {
    expect(restrictionsOnly(directive('permit', [{ actors: ['riverside'], securityLabels: ['PSY'] }]))).toBe(
      undefined,
    );
    expect(restrictionsOnly(directive('permit'))).toBeUndefined();
  });
});
