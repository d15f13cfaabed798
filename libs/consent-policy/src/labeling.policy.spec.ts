import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { labelItem } from './labeling.policy';
import { SENSITIVITY_SYSTEM } from './model';
import { parseLabelingRules } from './region-policy.loader';

const rules = parseLabelingRules(
  readFileSync(join(__dirname, '../../../deploy/demo-region/labeling-rules.yaml'), 'utf8'),
);
const ICD10 = 'http://hl7.org/fhir/sid/icd-10';
const ICD10CM = 'http://hl7.org/fhir/sid/icd-10-cm';
const LOINC = 'http://loinc.org';
const SCT = 'http://snomed.info/sct';
const codes = (codings: { system?: string; code?: string }[]): string[] =>
  labelItem(codings, rules).map((l) => l.code);

describe('labelItem with the demo region rules', () => {
  it.each([
    [ICD10, 'F10.20', ['ETH', 'SUD']],
    [ICD10CM, 'F1120', ['ETH', 'SUD']],
    [ICD10, 'F19', ['ETH', 'SUD']],
    [ICD10, 'F20.0', ['PSY']],
    [ICD10CM, 'F32.9', ['PSY']],
    [ICD10, 'F43.1', ['PSY']],
    [ICD10, 'F60.3', ['PSY']],
    [ICD10, 'B20', ['HIV']],
    [ICD10, 'B24', ['HIV']],
    [ICD10CM, 'Z21', ['HIV']],
    [ICD10, 'O04.9', ['SEX']],
    [ICD10CM, 'Z30.011', ['SEX']],
    [ICD10, 'T74.1', ['SDV']],
    [ICD10CM, 'T76.21XA', ['SDV']],
    [LOINC, '75622-1', ['HIV']],
    [LOINC, '7917-8', ['HIV']],
    [LOINC, '5221-7', ['HIV']],
    [LOINC, '68961-2', ['HIV']],
    [LOINC, '34788-0', ['PSY']],
    [SCT, '86406008', ['HIV']],
    [SCT, '7200002', ['ETH', 'SUD']],
  ])('%s %s → %j', (system, code, expected) => {
    expect(codes([{ system, code }])).toEqual(expected);
  });

  it.each([
    [ICD10, 'F00.0'], // dementia in Alzheimer disease: not in F20-F48 / F60-F69
    [ICD10, 'F50.0'], // eating disorder: not listed
    [ICD10, 'Z38.0'], // liveborn infant: excluded from Z30-Z39 on purpose
    [ICD10, 'B25.0'], // CMV disease, next to the HIV block
    [ICD10, 'J45.9'],
    [LOINC, '2345-7'], // glucose
    ['http://example.org/local', 'F10.2'], // unknown system
  ])('%s %s → no label', (system, code) => {
    expect(codes([{ system, code }])).toEqual([]);
  });

  it('unions labels of several codings, de-duplicated and sorted, as v3-ActCode labels', () => {
    expect(
      labelItem(
        [
          { system: ICD10, code: 'F32.1' },
          { system: LOINC, code: '56888-1' },
          { system: ICD10, code: 'F33' },
          { code: 'F10' },
          { system: ICD10 },
          { system: ICD10, code: ' ' },
        ],
        rules,
      ),
    ).toEqual([
      { system: SENSITIVITY_SYSTEM, code: 'HIV' },
      { system: SENSITIVITY_SYSTEM, code: 'PSY' },
    ]);
  });

  it('matches codes case-insensitively and ignores dots and spaces', () => {
    expect(codes([{ system: ICD10, code: ' f10.2 ' }])).toEqual(['ETH', 'SUD']);
  });
});

describe('labelItem with rules as data', () => {
  it('applies exact codes and prefixes per system', () => {
    const custom = parseLabelingRules({
      version: 1,
      rules: [
        { system: 'urn:a', codes: ['X1'], label: 'PSY' },
        { system: ['urn:a', 'urn:b'], prefixes: ['Y'], label: 'HIV' },
      ],
    });
    expect(labelItem([{ system: 'urn:a', code: 'x1' }], custom).map((l) => l.code)).toEqual(['PSY']);
    expect(labelItem([{ system: 'urn:a', code: 'X12' }], custom)).toEqual([]);
    expect(labelItem([{ system: 'urn:b', code: 'Y9' }], custom).map((l) => l.code)).toEqual(['HIV']);
    expect(labelItem([{ system: 'urn:b', code: 'X1' }], custom)).toEqual([]);
  });
});

describe('labelItem with the LOINC Document Ontology table of the demo region', () => {
  it.each([
    ['84202-1', ['PSY']], // Mental health Hospital Note: subject matter domain Mental health
    ['84198-1', ['PSY']], // Mental health Emergency department Note
    ['78263-1', ['PSY']], // Mental health Discharge summary note
    ['34102-4', ['PSY']], // Psychiatry Hospital Consult note
    ['83609-8', ['PSY']], // Psychiatry Nurse Consult note: domain Psychiatry, role Nurse
    ['103552-6', ['PSY']], // Psychology Annual evaluation note
    ['88361-1', ['ETH', 'SUD']], // Addiction medicine Alert
    ['52027-0', ['SEX']], // Abortion consent
  ])('LOINC %s (listed only in the ontology table) → %j', (code, expected) => {
    expect(rules.rules.some((r) => r.codes?.includes(code))).toBe(false);
    expect(codes([{ system: LOINC, code }])).toEqual(expected);
  });

  it('leaves a domain the region has no rule for unlabelled (clinical genetics) and plain notes alone', () => {
    expect(rules.documentOntology?.codes['78254-0']?.domain).toBe('Clinical genetics');
    expect(codes([{ system: LOINC, code: '78254-0' }])).toEqual([]);
    expect(codes([{ system: LOINC, code: '11488-4' }])).toEqual([]);
  });

  it('looks codes up in the ontology system only', () => {
    expect(codes([{ system: 'urn:tessera:cs:hosp-a:docs', code: '84202-1' }])).toEqual([]);
  });
});

describe('labelItem with a document ontology as data', () => {
  const custom = parseLabelingRules({
    version: 2,
    rules: [],
    documentOntology: {
      source: 'test excerpt',
      codes: {
        '1-1': { component: 'Note', domain: 'psychiatry' },
        '2-2': { component: 'Progress note', role: 'Social worker' },
        '3-3': { component: 'Consultation note', domain: 'Cardiology' },
      },
      rules: [
        { axis: 'domain', values: ['Psychiatry'], label: 'PSY' },
        { axis: 'role', values: [' social WORKER '], label: 'SDV' },
      ],
    },
  });

  it('labels by any axis, comparing values case-insensitively', () => {
    expect(labelItem([{ system: LOINC, code: '1-1' }], custom).map((l) => l.code)).toEqual(['PSY']);
    expect(labelItem([{ system: LOINC, code: '2-2' }], custom).map((l) => l.code)).toEqual(['SDV']);
    expect(labelItem([{ system: LOINC, code: '3-3' }], custom)).toEqual([]);
    expect(labelItem([{ system: LOINC, code: '4-4' }], custom)).toEqual([]);
  });

  it('unions ontology labels with code-rule labels of other codings', () => {
    expect(
      labelItem(
        [
          { system: LOINC, code: '1-1' },
          { system: ICD10, code: 'F10.2' },
        ],
        { ...custom, rules: rules.rules },
      ).map((l) => l.code),
    ).toEqual(['ETH', 'PSY', 'SUD']);
  });
});
