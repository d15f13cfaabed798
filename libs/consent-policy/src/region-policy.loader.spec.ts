import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseLabelingRules, parseRegionPolicy } from './region-policy.loader';

const deploy = join(__dirname, '../../../deploy/demo-region');

describe('parseRegionPolicy', () => {
  it('parses the demo region policy', () => {
    expect(parseRegionPolicy(readFileSync(join(deploy, 'consent-policy.yaml'), 'utf8'))).toEqual({
      defaultSharing: 'opt-out',
      sharingPurposes: ['TREAT', 'ETREAT', 'COC', 'PATRQT'],
      sensitiveByDefault: ['PSY', 'HIV', 'SEX', 'SDV', 'ETH', 'SUD'],
      absoluteLabels: ['ETH', 'SUD'],
      breakGlassMinutes: 60,
      discoverableWhenOptedOut: false,
    });
  });

  const good = {
    defaultSharing: 'opt-in',
    sharingPurposes: ['TREAT'],
    sensitiveByDefault: ['PSY'],
    absoluteLabels: [],
    breakGlassMinutes: 30,
    discoverableWhenOptedOut: true,
  };

  it('accepts an object', () => {
    expect(parseRegionPolicy(good)).toEqual(good);
  });

  it.each([
    [{ ...good, defaultSharing: 'maybe' }, /defaultSharing/],
    [{ ...good, sharingPurposes: ['MARKETING'] }, /sharingPurposes\.0/],
    [
      { ...good, absoluteLabels: ['SUD'] },
      /absoluteLabels\.0: SUD must also be listed in sensitiveByDefault/,
    ],
    [{ ...good, breakGlassMinutes: 0 }, /breakGlassMinutes/],
    [{ ...good, surprise: 1 }, /surprise|Unrecognized/],
    ['defaultSharing: [unclosed', /not YAML/],
    [null, /region consent policy/],
  ])('rejects %j with a message naming the field', (input, message) => {
    expect(() => parseRegionPolicy(input)).toThrow(message);
  });
});

describe('parseLabelingRules', () => {
  it('parses the demo labeling rules', () => {
    const rules = parseLabelingRules(readFileSync(join(deploy, 'labeling-rules.yaml'), 'utf8'));
    expect(rules.rules.length).toBeGreaterThan(5);
    expect(new Set(rules.rules.map((r) => r.label))).toEqual(
      new Set(['SUD', 'ETH', 'PSY', 'HIV', 'SEX', 'SDV']),
    );
  });

  it('rejects a rule without codes or prefixes and a bad label', () => {
    expect(() =>
      parseLabelingRules({ version: '1', rules: [{ system: 'http://loinc.org', label: 'HIV' }] }),
    ).toThrow(/rules\.0: a rule needs at least one of codes or prefixes/);
    expect(() =>
      parseLabelingRules({ version: '1', rules: [{ system: 's', codes: ['1'], label: 'P S Y' }] }),
    ).toThrow(/rules\.0\.label/);
  });
});

describe('parseLabelingRules: document ontology', () => {
  const base = { version: '1', rules: [] };
  const ontology = (extra: Record<string, unknown>) => ({
    ...base,
    documentOntology: {
      source: 'excerpt',
      codes: { '1-1': { domain: 'Psychiatry' } },
      rules: [{ axis: 'domain', values: ['Psychiatry'], label: 'PSY' }],
      ...extra,
    },
  });

  it('reads the demo table with its source and defaults the system to LOINC', () => {
    const rules = parseLabelingRules(readFileSync(join(deploy, 'labeling-rules.yaml'), 'utf8'));
    expect(rules.documentOntology?.system).toBe('http://loinc.org');
    expect(rules.documentOntology?.source).toMatch(/LOINC/);
    expect(Object.keys(rules.documentOntology?.codes ?? {}).length).toBeGreaterThan(5);
    expect(parseLabelingRules(ontology({})).documentOntology?.system).toBe('http://loinc.org');
  });

  it.each([
    [{ rules: [{ axis: 'colour', values: ['red'], label: 'PSY' }] }, /documentOntology\.rules\.0\.axis/],
    [{ rules: [{ axis: 'domain', values: [], label: 'PSY' }] }, /documentOntology\.rules\.0\.values/],
    [{ codes: { '1-1': {} } }, /documentOntology\.codes\.1-1: an entry needs at least one of/],
    [{ codes: { '1-1': { domain: 'Psychiatry', smell: 'x' } } }, /documentOntology\.codes\.1-1/],
    [{ source: '' }, /documentOntology\.source/],
  ])('rejects %j naming the field', (extra, message) => {
    expect(() => parseLabelingRules(ontology(extra))).toThrow(message);
  });
});
