/**
 * Seeded pseudo-random numbers. Every random choice of the generator goes through this class, so the
 * same seed always yields the same population (no Math.random anywhere).
 *
 * Core: mulberry32 (Tommy Ettinger, public domain, 2017), a 32-bit state generator with period 2^32;
 * plenty for test data and fast in V8 because it only uses Math.imul and shifts.
 * Seeds: FNV-1a over the parts, then the murmur3 fmix32 finalizer, so "household 1" and "household 2"
 * of the same seed get unrelated streams.
 */
export function hashSeed(...parts: readonly (string | number)[]): number {
  let h = 0x811c9dc5;
  for (const part of parts) {
    const s = typeof part === 'number' ? `#${part}` : `$${part}`;
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    h ^= 0xff;
    h = Math.imul(h, 0x01000193);
  }
  // murmur3 fmix32
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const zipfTables = new WeakMap<readonly unknown[], Float64Array>();

export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return probability > 0 && this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('SeededRandom.pick: empty list');
    return items[Math.floor(this.next() * items.length)];
  }

  /** Picks with a Zipf (1/rank) distribution: the head of the list is much more frequent, like real names. */
  pickZipf<T>(items: readonly T[]): T {
    let cumulative = zipfTables.get(items);
    if (!cumulative) {
      cumulative = new Float64Array(items.length);
      let sum = 0;
      for (let i = 0; i < items.length; i++) {
        sum += 1 / (i + 1);
        cumulative[i] = sum;
      }
      for (let i = 0; i < items.length; i++) cumulative[i] = cumulative[i] / sum;
      zipfTables.set(items, cumulative);
    }
    const r = this.next();
    let lo = 0;
    let hi = items.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cumulative[mid] < r) lo = mid + 1;
      else hi = mid;
    }
    return items[lo];
  }

  /** Index chosen with the given (not necessarily normalized) weights. */
  weighted(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) total += w;
    let r = this.next() * total;
    for (let i = 0; i < weights.length; i++) {
      r -= weights[i];
      if (r < 0) return i;
    }
    return weights.length - 1;
  }

  /** A string of `count` decimal digits (leading zeros allowed). */
  digits(count: number): string {
    let s = '';
    for (let i = 0; i < count; i++) s += String(Math.floor(this.next() * 10));
    return s;
  }
}
