import { hashSeed, SeededRandom } from './seeded-random.util';

describe('SeededRandom', () => {
  it('repeats the same sequence for the same seed and differs for another seed', () => {
    const a = new SeededRandom(42);
    const b = new SeededRandom(42);
    const c = new SeededRandom(43);
    const seqA = Array.from({ length: 20 }, () => a.next());
    const seqB = Array.from({ length: 20 }, () => b.next());
    const seqC = Array.from({ length: 20 }, () => c.next());
    expect(seqA).toEqual(seqB);
    expect(seqA).not.toEqual(seqC);
  });

  it('is roughly uniform and stays in range', () => {
    const rng = new SeededRandom(7);
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 100_000; i++) {
      const x = rng.next();
      expect(x >= 0 && x < 1).toBe(true);
      buckets[Math.floor(x * 10)]++;
    }
    for (const count of buckets) expect(Math.abs(count - 10_000)).toBeLessThan(500);
    for (let i = 0; i < 1000; i++) {
      const n = rng.int(3, 5);
      expect(n >= 3 && n <= 5).toBe(true);
    }
  });

  it('picks the head of a Zipf list far more often than the tail', () => {
    const rng = new SeededRandom(1);
    const items = Array.from({ length: 50 }, (_, i) => i);
    let first = 0;
    let last = 0;
    for (let i = 0; i < 20_000; i++) {
      const v = rng.pickZipf(items);
      if (v === 0) first++;
      if (v === 49) last++;
    }
    expect(first).toBeGreaterThan(last * 20);
  });

  it('hashes seed parts into unrelated seeds', () => {
    expect(hashSeed(1, 'household', 1)).not.toBe(hashSeed(1, 'household', 2));
    expect(hashSeed('abc')).toBe(hashSeed('abc'));
    expect(hashSeed(1, 'x')).not.toBe(hashSeed('1', 'x'));
  });
});
