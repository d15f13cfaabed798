import { itemsPerPerson, personOfItem, recordsOfPerson, sourceRecordOf, unitHash } from './registry-data';
import {
  formatIndexingReport,
  formatQueryReport,
  parseRegistryBenchArgs,
  seededRandom,
} from './registry.bench';

describe('registry bench arguments', () => {
  it('defaults to 1M persons / 5M items at 100 requests/s for 20 s', () => {
    expect(parseRegistryBenchArgs([])).toMatchObject({
      patients: 1_000_000,
      items: 5_000_000,
      reload: false,
      rate: 100,
      durationS: 20,
      events: 50_000,
    });
  });

  it('reads sizes (underscores allowed), --reload and --rate', () => {
    expect(
      parseRegistryBenchArgs(['--patients', '100_000', '--items', '500000', '--reload', '--rate', '50']),
    ).toMatchObject({
      patients: 100_000,
      items: 500_000,
      reload: true,
      rate: 50,
    });
  });

  it('refuses bad values and unknown options', () => {
    expect(() => parseRegistryBenchArgs(['--patients', '0'])).toThrow('--patients must be an integer');
    expect(() => parseRegistryBenchArgs(['--duration', '301'])).toThrow('--duration');
    expect(() => parseRegistryBenchArgs(['--rate', 'fast'])).toThrow('--rate');
    expect(() => parseRegistryBenchArgs(['--colour', 'red'])).toThrow();
  });
});

describe('synthetic population', () => {
  it('hashes item indexes into [0, 1) deterministically', () => {
    const values = Array.from({ length: 1000 }, (_, i) => unitHash(i));
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThan(1);
    expect(unitHash(12_345)).toBe(unitHash(12_345));
    // Near-uniform: each tenth of [0, 1) gets 8–12 % of 1000 indexes.
    for (let d = 0; d < 10; d += 1) {
      const n = values.filter((v) => Math.floor(v * 10) === d).length;
      expect(n).toBeGreaterThan(80);
      expect(n).toBeLessThan(120);
    }
  });

  it('spreads items skewed over persons: most have few, low-numbered persons many', () => {
    const counts = itemsPerPerson(10_000, 50_000);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(50_000);
    const sorted = [...counts].sort((a, b) => a - b);
    expect(sorted[Math.floor(sorted.length / 2)]).toBeLessThanOrEqual(5); // median person: a few items
    expect(sorted.at(-1)).toBeGreaterThan(50); // the heaviest: many
    expect(counts[0]).toBeGreaterThan(counts[9_999]);
    for (let i = 0; i < 1000; i += 1) expect(personOfItem(i, 10_000)).toBeLessThan(10_000);
  });

  it('gives each person 1–3 source records at distinct institutions', () => {
    for (let p = 0; p < 30; p += 1) {
      const n = recordsOfPerson(p);
      expect(n).toBeGreaterThanOrEqual(1);
      expect(n).toBeLessThanOrEqual(3);
      const systems = Array.from({ length: n }, (_, r) => sourceRecordOf(p, r).system);
      expect(new Set(systems).size).toBe(n);
    }
  });

  it('picks patients reproducibly from a seed', () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    const xs = Array.from({ length: 5 }, () => a());
    expect(Array.from({ length: 5 }, () => b())).toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  });
});

describe('report', () => {
  it('prints percentiles and errors per query type', () => {
    const out = formatQueryReport(
      [{ label: 'timeline', sent: 4, errors: 1, latencies: [1, 2, 3], meanItems: 2.5 }],
      100,
    );
    expect(out).toContain('p99 ms');
    expect(out.split('\n')[2]).toMatch(/^timeline\s+100\/s\s+4\s+1\s+2\.5\s+2\.0\s+3\.0\s+3\.0\s+3\.0$/);
  });

  it('computes indexing rates from the indexed count and the elapsed times', () => {
    const out = formatIndexingReport({
      events: 10_000,
      indexed: 10_000,
      publishS: 2,
      firstToLastS: 4,
      endToEndS: 5,
    });
    expect(out.split('\n')[2]).toMatch(/10000\s+10000\s+2\.0\s+2,500\s+2,000$/);
  });
});
