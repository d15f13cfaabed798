import type { ComparisonField, FieldComparison, MatchInput } from '@tessera/matching';

/** One row of a review task's side-by-side view: both records' values of a field and how they compared. */
export interface SideBySideRow {
  readonly field: ComparisonField;
  readonly record: string | null;
  readonly candidate: string | null;
  /** Comparison level (exact, jw-high, transposed, …); null when either side is missing. */
  readonly level: string | null;
  /** Fellegi–Sunter weight log2(m/u) the level contributed to the score. */
  readonly weight: number;
}

const FIELDS: readonly ComparisonField[] = ['family', 'given', 'birthDate', 'sex', 'address', 'phone', 'nationalId', 'insuranceId'];

/** The value of a field as the institution sent it (not normalized: operators compare what was sent). */
export function displayValue(input: MatchInput, field: ComparisonField): string | null {
  switch (field) {
    case 'family':
      return input.family ?? null;
    case 'given':
      return [input.given, input.middle].filter((v) => v !== undefined).join(' ') || null;
    case 'birthDate':
      return input.birthDate ?? null;
    case 'sex':
      return input.sex ?? null;
    case 'address': {
      const a = input.address;
      return a === undefined ? null : [a.line, a.city, a.postalCode, a.country].filter((v) => v !== undefined).join(', ') || null;
    }
    case 'phone':
      return input.phone ?? null;
    case 'nationalId':
      return input.nationalId ?? null;
    case 'insuranceId':
      return input.insuranceId ?? null;
  }
}

/** Rows in the matcher's field order, each with both values and the comparison's level and weight. Pure. */
export function sideBySide(record: MatchInput, candidate: MatchInput, comparisons: readonly FieldComparison[]): SideBySideRow[] {
  return FIELDS.map((field) => {
    const comparison = comparisons.find((c) => c.field === field);
    return {
      field,
      record: displayValue(record, field),
      candidate: displayValue(candidate, field),
      level: comparison?.level ?? null,
      weight: comparison?.weight ?? 0,
    };
  });
}
