import { Injectable } from '@nestjs/common';
import type { Bundle, BundleEntry, Patient } from '@medplum/fhirtypes';
import { DataSource } from 'typeorm';
import { blockingKeys, normalizeRecord, scorePair } from '@tessera/matching';
import { IdentityQueryService } from '../identity/identity-query.service';
import { IdentityRepository } from '../identity/identity.repository';
import { CANDIDATE_CAP, MatchRecordHandler } from '../matching/match-record.handler';
import { demographicsOf } from '../matching/patient-demographics';
import { goldenRecord } from './golden-record.projection';
import { MATCH_GRADE_URL, matchGrade } from './match-grade';
import type { MatchGrade } from './match-grade';

/** No source record has this id: candidate retrieval excludes nothing. */
const NO_RECORD = '00000000-0000-0000-0000-000000000000';

/**
 * `POST /Patient/$match` (FHIR R4 Patient-match operation; IHE PDQm ITI-119): scores the given
 * Patient against the indexed source records exactly as the engine would (same normalization,
 * blocking, cap and rule set), keeps each enterprise id's best source, and returns their golden
 * records graded certain / probable / possible, best first. Reads only; decides nothing.
 */
@Injectable()
export class PatientMatchHandler {
  constructor(
    private readonly dataSource: DataSource,
    private readonly repository: IdentityRepository,
    private readonly identities: IdentityQueryService,
    private readonly matcher: MatchRecordHandler,
  ) {}

  async match(patient: Patient, options: { readonly count: number; readonly onlyCertain: boolean }): Promise<Bundle<Patient>> {
    const ruleSet = this.matcher.ruleSet;
    const normalized = normalizeRecord(demographicsOf(patient), this.matcher.region, ruleSet);
    const rows = await this.repository.candidates(this.dataSource.manager, NO_RECORD, blockingKeys(normalized), [], CANDIDATE_CAP);
    const best = new Map<string, { readonly grade: MatchGrade; readonly score: number }>();
    for (const row of rows) {
      const result = scorePair(normalized, row.normalized, ruleSet);
      const graded = matchGrade(result.score, result.decision, ruleSet.thresholds);
      if (graded === null || (options.onlyCertain && graded.grade !== 'certain')) continue;
      const previous = best.get(row.enterpriseId);
      if (previous === undefined || previous.score < graded.score) best.set(row.enterpriseId, graded);
    }
    const ranked = [...best.entries()].sort((a, b) => b[1].score - a[1].score || a[0].localeCompare(b[0])).slice(0, options.count);
    const entry = await Promise.all(
      ranked.map(async ([enterpriseId, graded]): Promise<BundleEntry<Patient>> => {
        const members = (await this.identities.members(enterpriseId)).filter((m) => !m.retired);
        return {
          fullUrl: `Patient/${enterpriseId}`,
          resource: goldenRecord(enterpriseId, members),
          search: { mode: 'match', score: graded.score, extension: [{ url: MATCH_GRADE_URL, valueCode: graded.grade }] },
        };
      }),
    );
    return { resourceType: 'Bundle', type: 'searchset', total: entry.length, entry };
  }
}
