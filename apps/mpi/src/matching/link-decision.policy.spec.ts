import { decideLink } from './link-decision.policy';
import type { CurrentLink, ScoredCandidate } from './link-decision.policy';

function candidate(
  sourceRecordId: string,
  enterpriseId: string,
  decision: ScoredCandidate['decision'],
  score: number,
  notSamePerson = false,
): ScoredCandidate {
  return { sourceRecordId, enterpriseId, decision, score, comparisons: [], notSamePerson };
}

const auto = (enterpriseId: string, otherMembers = 1, state: CurrentLink['state'] = 'MATCH'): CurrentLink => ({
  enterpriseId,
  state,
  origin: 'AUTO',
  otherMembers,
});

describe('decideLink', () => {
  it('creates a new enterprise id, without a review task, when no candidate reaches the review threshold', () => {
    const d = decideLink({ placeholder: false, current: null, candidates: [candidate('r1', 'E1', 'NO_MATCH', -3)] });
    expect(d).toMatchObject({ action: 'new', state: 'MATCH', review: null });
  });

  it('links a new record to the enterprise id of its MATCH candidates, recording the best one', () => {
    const d = decideLink({
      placeholder: false,
      current: null,
      candidates: [candidate('r1', 'E1', 'MATCH', 18), candidate('r2', 'E1', 'MATCH', 25), candidate('r3', 'E2', 'NO_MATCH', 1)],
    });
    expect(d).toMatchObject({ action: 'link', enterpriseId: 'E1', state: 'MATCH', review: null });
    expect(d.best?.sourceRecordId).toBe('r2');
  });

  it('opens a POSSIBLE_MATCH review task and creates a new id when candidates fall in the review band', () => {
    const d = decideLink({
      placeholder: false,
      current: null,
      candidates: [candidate('r1', 'E1', 'POSSIBLE_MATCH', 9), candidate('r2', 'E2', 'POSSIBLE_MATCH', 8)],
    });
    expect(d.action).toBe('new');
    expect(d.review).toMatchObject({ kind: 'POSSIBLE_MATCH', enterpriseIds: ['E1', 'E2'] });
  });

  it('does not pick between two enterprise ids that both match: new id (POSSIBLE_MATCH) and a duplicate task', () => {
    const d = decideLink({
      placeholder: false,
      current: null,
      candidates: [candidate('r1', 'E2', 'MATCH', 20), candidate('r2', 'E1', 'MATCH', 22)],
    });
    expect(d).toMatchObject({ action: 'new', state: 'POSSIBLE_MATCH' });
    expect(d.review).toMatchObject({ kind: 'POSSIBLE_DUPLICATE', enterpriseIds: ['E1', 'E2'] });
  });

  it('keeps an existing record where it is when it matches several enterprise ids, with a duplicate task', () => {
    const d = decideLink({
      placeholder: false,
      current: auto('E1'),
      candidates: [candidate('r1', 'E1', 'MATCH', 20), candidate('r2', 'E2', 'MATCH', 22)],
    });
    expect(d).toMatchObject({ action: 'keep', state: 'POSSIBLE_MATCH' });
    expect(d.review?.kind).toBe('POSSIBLE_DUPLICATE');
  });

  it('never links a placeholder identity automatically: its MATCH-grade candidates go to review', () => {
    const d = decideLink({ placeholder: true, current: null, candidates: [candidate('r1', 'E1', 'MATCH', 30)] });
    expect(d).toMatchObject({ action: 'new', review: { kind: 'POSSIBLE_MATCH', enterpriseIds: ['E1'] } });
  });

  it('never moves a MANUAL link, even when another enterprise id matches', () => {
    const d = decideLink({
      placeholder: false,
      current: { enterpriseId: 'E1', state: 'MATCH', origin: 'MANUAL', otherMembers: 1 },
      candidates: [candidate('r2', 'E2', 'MATCH', 30)],
    });
    expect(d).toMatchObject({ action: 'keep', state: 'MATCH', review: null });
  });

  it('ignores candidates an operator marked "not the same person"', () => {
    const d = decideLink({ placeholder: false, current: null, candidates: [candidate('r1', 'E1', 'MATCH', 30, true)] });
    expect(d).toMatchObject({ action: 'new', review: null });
  });

  it('keeps a record that still matches its enterprise id, without a new decision', () => {
    const d = decideLink({ placeholder: false, current: auto('E1'), candidates: [candidate('r1', 'E1', 'MATCH', 20)] });
    expect(d).toMatchObject({ action: 'keep', state: 'MATCH', review: null });
  });

  it('moves an updated record to the enterprise id it now matches (A08/A31 re-evaluation)', () => {
    const d = decideLink({
      placeholder: false,
      current: auto('E1'),
      candidates: [candidate('r1', 'E1', 'NO_MATCH', -10), candidate('r2', 'E2', 'MATCH', 20)],
    });
    expect(d).toMatchObject({ action: 'link', enterpriseId: 'E2', reason: expect.stringContaining('moved') as string });
  });

  it('moves an updated record that no longer matches any member of its enterprise id to a new one', () => {
    const d = decideLink({ placeholder: false, current: auto('E1'), candidates: [candidate('r1', 'E1', 'NO_MATCH', -10)] });
    expect(d).toMatchObject({ action: 'new', state: 'MATCH' });
  });

  it('keeps a record with a member an operator placed in its enterprise id (MANUAL), even if the scores disagree', () => {
    const d = decideLink({
      placeholder: false,
      current: auto('E1'),
      candidates: [{ ...candidate('r1', 'E1', 'NO_MATCH', -10), manual: true }],
    });
    expect(d).toMatchObject({ action: 'keep', state: 'MATCH' });
  });

  it('keeps a record alone in its enterprise id there when nothing matches', () => {
    const d = decideLink({ placeholder: false, current: auto('E1', 0), candidates: [] });
    expect(d).toMatchObject({ action: 'keep', state: 'MATCH', review: null });
  });

  it('links to an enterprise id the source claims when its demographics at least possibly match a member', () => {
    const d = decideLink({
      placeholder: false,
      current: null,
      candidates: [candidate('r1', 'E1', 'MATCH', 30), candidate('r9', 'E9', 'POSSIBLE_MATCH', 9)],
      assertedEnterpriseId: 'E9',
    });
    expect(d).toMatchObject({ action: 'link', enterpriseId: 'E9', state: 'MATCH', review: null, reason: 'enterprise id asserted by the source' });
    expect(d.best?.sourceRecordId).toBe('r9');
    const already = decideLink({
      placeholder: false,
      current: auto('E9'),
      candidates: [candidate('r9', 'E9', 'MATCH', 25)],
      assertedEnterpriseId: 'E9',
    });
    expect(already).toMatchObject({ action: 'keep', state: 'MATCH', review: null });
    const manual = decideLink({
      placeholder: false,
      current: { enterpriseId: 'E1', state: 'MATCH', origin: 'MANUAL', otherMembers: 0 },
      candidates: [candidate('r9', 'E9', 'MATCH', 30)],
      assertedEnterpriseId: 'E9',
    });
    expect(manual.action).toBe('keep');
  });

  it('does not link to a claimed enterprise id the demographics do not support: new id and a POSSIBLE_MATCH task', () => {
    const d = decideLink({
      placeholder: false,
      current: null,
      candidates: [candidate('r9', 'E9', 'NO_MATCH', -12)],
      assertedEnterpriseId: 'E9',
    });
    expect(d).toMatchObject({ action: 'new', state: 'MATCH', review: { kind: 'POSSIBLE_MATCH', enterpriseIds: ['E9'] } });
    expect(d.reason).toContain('not supported by the demographics');
    expect(d.review?.candidates.map((c) => c.sourceRecordId)).toEqual(['r9']);
    // A claimed enterprise id none of whose members was scored (no blocking key shared) is no better.
    const unseen = decideLink({ placeholder: false, current: null, candidates: [], assertedEnterpriseId: 'E9' });
    expect(unseen).toMatchObject({ action: 'new', review: { kind: 'POSSIBLE_MATCH', enterpriseIds: ['E9'], candidates: [] } });
  });

  it('decides an unsupported claim by the demographics alone and adds the claimed id to the review', () => {
    const elsewhere = decideLink({
      placeholder: false,
      current: null,
      candidates: [candidate('r1', 'E1', 'MATCH', 22), candidate('r9', 'E9', 'NO_MATCH', -5)],
      assertedEnterpriseId: 'E9',
    });
    expect(elsewhere).toMatchObject({ action: 'link', enterpriseId: 'E1', review: { kind: 'POSSIBLE_MATCH', enterpriseIds: ['E9'] } });
    const possible = decideLink({
      placeholder: false,
      current: null,
      candidates: [candidate('r2', 'E2', 'POSSIBLE_MATCH', 8), candidate('r9', 'E9', 'NO_MATCH', -5)],
      assertedEnterpriseId: 'E9',
    });
    expect(possible).toMatchObject({ action: 'new', review: { kind: 'POSSIBLE_MATCH', enterpriseIds: ['E2', 'E9'] } });
    // A record on the claimed id whose update no longer matches its members leaves it, with a task.
    const leaving = decideLink({
      placeholder: false,
      current: auto('E9'),
      candidates: [candidate('r9', 'E9', 'NO_MATCH', -15)],
      assertedEnterpriseId: 'E9',
    });
    expect(leaving).toMatchObject({ action: 'new', review: { kind: 'POSSIBLE_MATCH', enterpriseIds: ['E9'] } });
  });

  it('opens no task for a claim an operator already refuted ("not the same person")', () => {
    const d = decideLink({
      placeholder: false,
      current: null,
      candidates: [candidate('r9', 'E9', 'MATCH', 30, true)],
      assertedEnterpriseId: 'E9',
    });
    expect(d).toMatchObject({ action: 'new', review: null });
  });
});
