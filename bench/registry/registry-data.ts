/*
 * The registry benchmark's synthetic population, as pure functions of an index (no randomness, so
 * the bulk loader can let Postgres build the same rows from the same formulas with generate_series).
 *
 * - person p (0 ≤ p < patients) has enterprise id `EB<p>` and 1–3 source records, each at one of
 *   the 4 bench institutions (system `urn:tessera:bench:inst-<k>:mrn`, local id `P<p>-<r>`);
 * - item i (0 ≤ i < items) belongs to person floor(patients · u(i)^SKEW), u(i) a multiplicative hash
 *   of i in [0, 1): a skewed spread where most people have a few items and low-numbered people many;
 *   even items are documents, odd ones encounters.
 */

export const INSTITUTIONS = 4;
export const SKEW = 1.5;
const HASH_MULTIPLIER = 2654435761n; // Knuth's multiplicative hash constant (2^32 / φ)
const HASH_MODULUS = 4294967296n;

/** u(i) in [0, 1): Knuth multiplicative hash of i modulo 2^32. */
export function unitHash(i: number): number {
  return Number((BigInt(i) * HASH_MULTIPLIER) % HASH_MODULUS) / 4294967296;
}

/** The same u(i) as a SQL expression over a bigint column `i`. */
export const UNIT_HASH_SQL = (i: string): string =>
  `(((${i})::bigint * 2654435761) % 4294967296) / 4294967296.0`;

/** The person owning item i. */
export function personOfItem(i: number, patients: number): number {
  return Math.min(patients - 1, Math.floor(patients * unitHash(i) ** SKEW));
}

export const PERSON_OF_ITEM_SQL = (i: string, patients: number): string =>
  `LEAST(${patients - 1}, floor(${patients} * power(${UNIT_HASH_SQL(i)}, ${SKEW}))::bigint)`;

/** How many source records person p has (1–3). */
export function recordsOfPerson(p: number): number {
  return 1 + (p % 3);
}

export const RECORDS_OF_PERSON_SQL = (p: string): string => `(1 + (${p}) % 3)`;

export function institutionOfRecord(p: number, r: number): number {
  return (p + r) % INSTITUTIONS;
}

export function enterpriseIdOf(p: number): string {
  return `EB${p}`;
}

export function sourceRecordOf(p: number, r: number): { readonly system: string; readonly value: string } {
  return { system: `urn:tessera:bench:inst-${institutionOfRecord(p, r)}:mrn`, value: `P${p}-${r}` };
}

/** Items per person: counts[p] for the first `items` items (used by the unit spec and the report). */
export function itemsPerPerson(patients: number, items: number): Uint32Array {
  const counts = new Uint32Array(patients);
  for (let i = 0; i < items; i += 1) counts[personOfItem(i, patients)] += 1;
  return counts;
}
