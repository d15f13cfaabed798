import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GOLDEN_DIR, goldenCases, mapGoldenCase } from './testing/golden-cases.fixture';

/*
 * Golden files: every test-data/<case>.hl7 is parsed and mapped, and the outcome is compared with
 * test-data/<case>.expected.json. UPDATE_GOLDEN=1 rewrites the expected files; review the diff
 * against the HL7 v2-to-FHIR IG before committing it.
 */
const UPDATE = process.env['UPDATE_GOLDEN'] === '1';

describe('golden v2 -> FHIR mappings', () => {
  const cases = goldenCases();

  it('has the required golden cases', () => {
    for (const required of [
      'ADT_A01',
      'ADT_A03',
      'ADT_A08',
      'ADT_A11',
      'ADT_A28',
      'ADT_A40',
      'ORU_R01',
      'MDM_T02_ed',
      'MDM_T02_tx',
      'MDM_T02_psych',
      'MDM_T10',
      'ADT_A04_v23',
      'ADT_A04_v28',
    ]) {
      expect(cases).toContain(required);
    }
  });

  it.each(cases)('%s maps to its golden file', (caseName) => {
    const actual = JSON.parse(JSON.stringify(mapGoldenCase(caseName))) as unknown;
    const expectedPath = join(GOLDEN_DIR, `${caseName}.expected.json`);
    if (UPDATE) writeFileSync(expectedPath, `${JSON.stringify(actual, null, 2)}\n`, 'utf8');
    const expected = JSON.parse(readFileSync(expectedPath, 'utf8')) as unknown;
    expect(actual).toEqual(expected);
  });

  it.each(cases)('%s is deterministic (a replay maps to identical resources)', (caseName) => {
    expect(JSON.stringify(mapGoldenCase(caseName))).toBe(JSON.stringify(mapGoldenCase(caseName)));
  });
});
