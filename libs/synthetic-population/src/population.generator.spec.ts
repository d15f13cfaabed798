import { NICKNAMES } from './name-lists.data';
import { generatePopulation } from './population.generator';
import type { InstitutionConfig, PopulationOptions, SourceRecord, TruthPerson } from './population.types';
import { isValidResidentIdChecksum } from './resident-id.util';

const INSTITUTIONS: readonly InstitutionConfig[] = [
  { id: 'NORTH', assigningAuthority: '2.16.840.1.113883.3.9999.1' },
  { id: 'SOUTH', assigningAuthority: '2.16.840.1.113883.3.9999.2' },
  { id: 'EAST', assigningAuthority: '2.16.840.1.113883.3.9999.3' },
  { id: 'WEST', assigningAuthority: '2.16.840.1.113883.3.9999.4' },
];

const base: PopulationOptions = { seed: 2024, persons: 300, region: 'us', institutions: INSTITUTIONS };

function fraction(records: readonly SourceRecord[], kind: SourceRecord['corruptions'][number]): number {
  return records.filter((r) => r.corruptions.includes(kind)).length / records.length;
}

describe('generatePopulation', () => {
  it('is deterministic: the same seed gives identical output, another seed a different one', () => {
    const a = JSON.stringify(generatePopulation(base).materialize());
    const b = JSON.stringify(generatePopulation(base).materialize());
    const c = JSON.stringify(generatePopulation({ ...base, seed: 2025 }).materialize());
    expect(a).toBe(b);
    expect(a).not.toBe(c);
    const pop = generatePopulation({ ...base, seed: 'region-a' });
    expect(JSON.stringify(pop.materialize())).toBe(JSON.stringify(pop.materialize()));
  });

  it('a smaller population is a prefix of a larger one with the same seed', () => {
    const small = generatePopulation({ ...base, persons: 100 })
      .materialize()
      .persons.filter((p) => !p.placeholder);
    const large = generatePopulation({ ...base, persons: 200 })
      .materialize()
      .persons.filter((p) => !p.placeholder);
    expect(small).toHaveLength(100);
    expect(large.slice(0, 99)).toEqual(small.slice(0, 99));
  });

  it('generates the requested number of real persons, unique record ids and consistent truth pairs', () => {
    const pop = generatePopulation({ ...base, persons: 3000 });
    const { persons, records } = pop.materialize();
    expect(persons.filter((p) => !p.placeholder)).toHaveLength(3000);
    expect(new Set(records.map((r) => r.recordId)).size).toBe(records.length);
    expect(new Set(persons.map((p) => p.personId)).size).toBe(persons.length);
    const byPerson = new Map<string, number>();
    for (const r of records) byPerson.set(r.personId, (byPerson.get(r.personId) ?? 0) + 1);
    const expectedPairs = Array.from(byPerson.values()).reduce((s, k) => s + (k * (k - 1)) / 2, 0);
    const pairs = Array.from(pop.truthPairs());
    expect(pairs).toHaveLength(expectedPairs);
    const personOf = new Map(records.map((r) => [r.recordId, r.personId]));
    for (const [x, y] of pairs) expect(personOf.get(x)).toBe(personOf.get(y));
    // people do appear at several institutions
    expect(pairs.length).toBeGreaterThan(1000);
    // national ids are unique per person (US synthetic 9xx numbers, never a real SSN area)
    const real = persons.filter((p) => !p.placeholder);
    expect(new Set(real.map((p) => p.demographics.nationalId)).size).toBe(real.length);
    for (const p of real) expect(p.demographics.nationalId).toMatch(/^9\d{2}-\d{2}-\d{4}$/);
  });

  it('applies corruptions at the configured rates (±2 points over ~10k records)', () => {
    const rate = 0.25;
    const { persons, records: all } = generatePopulation({
      ...base,
      persons: 6000,
      corruption: {
        typoFamily: rate,
        typoGiven: rate,
        nickname: rate,
        moved: rate,
        phoneChanged: rate,
        missingPhone: rate,
        birthDateTransposed: rate,
        nationalIdTypo: rate,
        missingNationalId: 0,
      },
      hardCases: { placeholder: 0 },
    }).materialize();
    const records = all.filter((r) => !r.placeholder);
    expect(records.length).toBeGreaterThan(8000);
    const truth = new Map<string, TruthPerson>(persons.map((p) => [p.personId, p]));
    for (const kind of [
      'typo-family',
      'moved',
      'phone-changed',
      'missing-phone',
      'national-id-typo',
    ] as const) {
      expect(Math.abs(fraction(records, kind) - rate)).toBeLessThan(0.02);
    }
    const withNickname = records.filter((r) => NICKNAMES[truth.get(r.personId)!.demographics.given]);
    expect(Math.abs(fraction(withNickname, 'nickname') - rate)).toBeLessThan(0.02);
    const transposable = records.filter((r) => {
      const [, m, d] = truth.get(r.personId)!.demographics.birthDate.split('-');
      return Number(d) <= 12 && d !== m;
    });
    expect(Math.abs(fraction(transposable, 'birth-date-transposed') - rate)).toBeLessThan(0.03);

    // and the corruption really is in the data
    for (const r of records) {
      const t = truth.get(r.personId)!.demographics;
      if (r.corruptions.includes('birth-date-transposed') && !r.corruptions.includes('missing-birth-date')) {
        expect(r.demographics.birthDate).toBe(
          `${t.birthDate.slice(0, 4)}-${t.birthDate.slice(8)}-${t.birthDate.slice(5, 7)}`,
        );
      }
      if (r.corruptions.includes('national-id-typo')) {
        expect(r.demographics.nationalId!.replace(/-/g, '')).not.toBe(t.nationalId.replace(/-/g, ''));
      }
      if (r.corruptions.includes('missing-phone')) expect(r.demographics.phone).toBeUndefined();
      if (r.corruptions.length === 0) {
        expect(r.demographics.birthDate).toBe(t.birthDate);
        expect(r.demographics.address).toEqual(t.address);
        expect(r.demographics.phone!.replace(/\D/g, '').slice(-10)).toBe(t.phone.slice(2));
      }
    }
  });

  it('CN: resident ids carry a valid MOD 11-2 check, the birth date and the sex digit; typo’d ones fail', () => {
    const { persons, records } = generatePopulation({
      ...base,
      region: 'cn',
      persons: 3000,
      corruption: { nationalIdTypo: 0.3, missingNationalId: 0 },
    }).materialize();
    const real = persons.filter((p) => !p.placeholder);
    for (const p of real) {
      const id = p.demographics.nationalId;
      expect(isValidResidentIdChecksum(id)).toBe(true);
      expect(id.slice(6, 14)).toBe(p.demographics.birthDate.replace(/-/g, ''));
      expect(Number(id[16]) % 2).toBe(p.demographics.sex === 'M' ? 1 : 0);
    }
    const typod = records.filter((r) => r.corruptions.includes('national-id-typo'));
    expect(typod.length).toBeGreaterThan(500);
    for (const r of typod) expect(isValidResidentIdChecksum(r.demographics.nationalId!)).toBe(false);
    for (const r of records.filter((x) => !x.placeholder && !x.corruptions.includes('national-id-typo'))) {
      expect(isValidResidentIdChecksum(r.demographics.nationalId!)).toBe(true);
    }
  });

  it('CN: names in Hanzi at some institutions and in pinyin at others', () => {
    const { persons, records } = generatePopulation({
      ...base,
      region: 'cn',
      persons: 500,
      institutions: [
        { id: 'H1', assigningAuthority: 'a', nameScript: 'hanzi' },
        { id: 'P1', assigningAuthority: 'b', nameScript: 'pinyin', upperCaseNames: true },
      ],
      hardCases: { placeholder: 0 },
    }).materialize();
    const truth = new Map(persons.map((p) => [p.personId, p.demographics]));
    const clean = records.filter((r) =>
      r.corruptions.every((c) => c.startsWith('missing-') && c !== 'missing-given'),
    );
    const hanzi = clean.filter((r) => r.institutionId === 'H1');
    const pinyin = clean.filter((r) => r.institutionId === 'P1');
    expect(hanzi.length).toBeGreaterThan(100);
    expect(pinyin.length).toBeGreaterThan(100);
    for (const r of hanzi) {
      expect(r.demographics.nameScript).toBe('hanzi');
      expect(r.demographics.family).toBe(truth.get(r.personId)!.family);
      expect(r.demographics.family).toMatch(/^\p{Script=Han}+$/u);
    }
    for (const r of pinyin) {
      const t = truth.get(r.personId)!;
      expect(r.demographics.nameScript).toBe('pinyin');
      expect(r.demographics.family).toBe(t.familyPinyin!.toUpperCase());
      expect(r.demographics.given).toBe(t.givenPinyin!.toUpperCase());
    }
    // the most common name in China is common here too
    expect(persons.filter((p) => p.demographics.family === '王').length).toBeGreaterThan(20);
  });

  it('EU/US: Latin names keep their diacritics except at ASCII-only institutions', () => {
    const { persons, records } = generatePopulation({
      ...base,
      region: 'eu',
      persons: 1000,
      institutions: [
        { id: 'A', assigningAuthority: 'a', asciiOnly: false, upperCaseNames: false },
        { id: 'B', assigningAuthority: 'b', asciiOnly: true },
      ],
    }).materialize();
    expect(persons.some((p) => /[^\x20-\x7e]/.test(p.demographics.family + p.demographics.given))).toBe(true);
    expect(
      records.some((r) => r.institutionId === 'A' && /[^\x20-\x7e]/.test(r.demographics.family ?? '')),
    ).toBe(true);
    for (const r of records.filter((x) => x.institutionId === 'B')) {
      expect(`${r.demographics.family ?? ''}${r.demographics.given ?? ''}`).toMatch(/^[\x20-\x7e]*$/);
    }
  });

  it('twins share birth date, surname and address but never the given name', () => {
    const { persons } = generatePopulation({
      ...base,
      persons: 5000,
      hardCases: { twinHousehold: 0.1 },
    }).materialize();
    const byId = new Map(persons.map((p) => [p.personId, p]));
    const twins = persons.filter((p) => p.kind === 'twin' && p.twinOf !== undefined && byId.has(p.twinOf));
    expect(twins.length).toBeGreaterThan(100);
    for (const t of twins) {
      const other = byId.get(t.twinOf!)!;
      expect(other.twinOf).toBe(t.personId);
      expect(other.demographics.birthDate).toBe(t.demographics.birthDate);
      expect(other.demographics.family).toBe(t.demographics.family);
      expect(other.demographics.address).toEqual(t.demographics.address);
      expect(other.demographics.given).not.toBe(t.demographics.given);
      expect(other.householdId).toBe(t.householdId);
    }
  });

  it('families share address and surname; common names recur', () => {
    const { persons } = generatePopulation({ ...base, persons: 5000 }).materialize();
    const households = new Map<string, TruthPerson[]>();
    for (const p of persons.filter((x) => !x.placeholder)) {
      households.set(p.householdId, [...(households.get(p.householdId) ?? []), p]);
    }
    const multi = Array.from(households.values()).filter((h) => h.length >= 3);
    expect(multi.length).toBeGreaterThan(100);
    for (const h of multi) {
      for (const p of h) expect(p.demographics.address).toEqual(h[0].demographics.address);
      expect(new Set(h.map((p) => p.demographics.given)).size).toBe(h.length);
    }
    const johnSmiths = persons.filter(
      (p) => p.demographics.family === 'Smith' && p.demographics.given === 'John',
    );
    expect(johnSmiths.length).toBeGreaterThan(20);
    expect(new Set(johnSmiths.map((p) => p.demographics.birthDate)).size).toBeGreaterThan(15);
  });

  it('placeholder identities are flagged in the truth, appear once, and never form truth pairs', () => {
    const pop = generatePopulation({ ...base, persons: 3000, hardCases: { placeholder: 0.1 } });
    const { persons, records } = pop.materialize();
    const placeholders = persons.filter((p) => p.placeholder);
    expect(placeholders.length).toBeGreaterThan(200);
    for (const p of placeholders) expect(p.kind).toBe('placeholder');
    const placeholderRecords = records.filter((r) => r.placeholder);
    expect(placeholderRecords).toHaveLength(placeholders.length);
    const pattern = /^(baby (boy|girl)|unknown|patient|male|female|test|do not use|john|jane)$/i;
    for (const r of placeholderRecords) {
      const names = [r.demographics.given, r.demographics.family].filter((x): x is string => x !== undefined);
      expect(names.some((n) => pattern.test(n) || /^(doe|unk|zztest)$/i.test(n))).toBe(true);
    }
    const ids = new Set(placeholderRecords.map((r) => r.recordId));
    for (const [a, b] of pop.truthPairs()) expect(ids.has(a) || ids.has(b)).toBe(false);
  });

  it('gives every record encounters in date order, after birth, with unique visit numbers', () => {
    const { persons, records } = generatePopulation({
      ...base,
      persons: 500,
      clinical: { documents: true, results: true },
    }).materialize();
    const birth = new Map(persons.map((p) => [p.personId, p.demographics.birthDate]));
    const visits = new Set<string>();
    let documents = 0;
    let results = 0;
    for (const r of records) {
      expect(r.encounters.length).toBeGreaterThan(0);
      for (const e of r.encounters) {
        expect(['IMP', 'AMB', 'EMER']).toContain(e.class);
        expect(e.admit < e.discharge).toBe(true);
        expect(e.admit.slice(0, 10) >= birth.get(r.personId)!).toBe(true);
        expect(e.admit < '2025-01-01').toBe(true);
        const key = `${r.institutionId}|${e.visitNumber}`;
        expect(visits.has(key)).toBe(false);
        visits.add(key);
        documents += e.documents.length;
        results += e.results.length;
        for (const res of e.results) expect(res.code).toMatch(/^\d+-\d$/);
      }
      for (let i = 1; i < r.encounters.length; i++) {
        expect(r.encounters[i - 1].admit <= r.encounters[i].admit).toBe(true);
      }
    }
    expect(documents).toBeGreaterThan(100);
    expect(results).toBeGreaterThan(100);
  });

  it('streams: the first records of a ten-million-person population come without generating the rest', () => {
    const pop = generatePopulation({ ...base, persons: 10_000_000 });
    const started = process.hrtime.bigint();
    const first: SourceRecord[] = [];
    for (const r of pop.records()) {
      first.push(r);
      if (first.length === 1000) break;
    }
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
    expect(first).toHaveLength(1000);
    expect(elapsedMs).toBeLessThan(2000);
  });

  it('rejects invalid options', () => {
    expect(() => generatePopulation({ ...base, institutions: [] })).toThrow(/institution/);
    expect(() => generatePopulation({ ...base, persons: -1 })).toThrow(/persons/);
    expect(() => generatePopulation({ ...base, institutions: [INSTITUTIONS[0], INSTITUTIONS[0]] })).toThrow(
      /unique/,
    );
  });
});
