import { buildDemoFeed } from '../demo-feed/demo-feed.builder';
import { findInstitutionsFile, loadInstitutions } from '../demo-feed/institutions.loader';
import { fromFhirConsent } from '@tessera/consent-policy';
import { optOutConsent, pickTourPerson, tourCandidates } from './tour-plan';

describe('exchange tour plan', () => {
  const feed = buildDemoFeed({
    institutions: loadInstitutions(findInstitutionsFile(__dirname)),
    seed: 1,
    persons: 60,
  });

  it('follows a person with a St Aurelia document who also visited Riverside, the same on every run', () => {
    const person = pickTourPerson(feed, 'st-aurelia', 'riverside');
    expect(person).toBeDefined();
    const theirs = feed.filter((m) => m.personId === person!.personId);
    expect(theirs.some((m) => m.institution === 'st-aurelia' && m.messageType === 'MDM^T02')).toBe(true);
    expect(theirs.some((m) => m.institution === 'riverside' && m.localId === person!.asker.localId)).toBe(
      true,
    );
    expect(theirs.some((m) => m.institution === 'st-aurelia' && m.localId === person!.holder.localId)).toBe(
      true,
    );
    const again = buildDemoFeed({
      institutions: loadInstitutions(findInstitutionsFile(__dirname)),
      seed: 1,
      persons: 60,
      runTag: 'other',
    });
    expect(pickTourPerson(again, 'st-aurelia', 'riverside')).toEqual(person);
  });

  it('offers every such person once, the first being the one picked', () => {
    const candidates = tourCandidates(feed, 'st-aurelia', 'riverside');
    expect(candidates.length).toBeGreaterThan(1);
    expect(new Set(candidates.map((c) => c.personId)).size).toBe(candidates.length);
    expect(candidates[0]).toEqual(pickTourPerson(feed, 'st-aurelia', 'riverside'));
  });

  it('finds nobody when the asker never saw anyone with a holder document', () => {
    expect(pickTourPerson(feed, 'st-aurelia', 'no-such-hospital')).toBeUndefined();
  });

  it('writes an opt-out the consent policy library accepts as a deny anchored on the source record', () => {
    const parsed = fromFhirConsent(
      optOutConsent('urn:oid:2.16.840.1.113883.3.9999.1.1', 'MRN-1', 'st-aurelia'),
      {
        id: 'c1',
        version: 1,
        recordedAt: '2026-01-01T00:00:00Z',
      },
    );
    expect('directive' in parsed && parsed.directive).toMatchObject({
      base: 'deny',
      status: 'active',
      anchor: { kind: 'source', system: 'urn:oid:2.16.840.1.113883.3.9999.1.1', value: 'MRN-1' },
      recordedBy: 'st-aurelia',
    });
  });
});
