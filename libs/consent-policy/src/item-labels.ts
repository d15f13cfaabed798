import type { Coding, DiagnosticReport, DocumentReference, Encounter, Observation } from '@medplum/fhirtypes';
import { clinicalCodesOf } from './item-codes';
import { labelItem } from './labeling.policy';
import type { LabelingRules } from './region-policy.loader';

export type LabeledResource = Encounter | DocumentReference | DiagnosticReport | Observation;

/** An item's security labels: those the source sent and those the region's rules derive. */
export interface ItemLabels {
  /** Codings as returned in `meta.security` (source labels first, then derived ones). */
  readonly securityLabels: readonly Coding[];
  /** The distinct codes of `securityLabels`, sorted (column `label_codes`, the SQL pushdown). */
  readonly labelCodes: readonly string[];
}

/**
 * Sensitivity labeling at index time (design "Labeling"): `labelItem` of the region's rules over
 * the item's clinical codes (item-codes.ts), unioned with the labels the source sent.
 */
export function labelsOf(
  resource: LabeledResource,
  sourceLabels: readonly Coding[],
  rules: LabelingRules,
): ItemLabels {
  return mergeLabels(sourceLabels, labelItem(clinicalCodesOf(resource), rules));
}

/**
 * A DiagnosticReport's labels: its own (source + derived from its codes) followed by the labels of
 * each Observation it lists in `result`, in that order. A panel is as sensitive as its most sensitive
 * result: it names the result in `result`, and its conclusion, conclusionCode or presentedForm may
 * state it, whatever its own code (OBR-4) says.
 */
export function reportLabels(own: ItemLabels, results: readonly (readonly Coding[])[]): ItemLabels {
  return mergeLabels(own.securityLabels, results.flat());
}

/** Source labels plus derived ones, de-duplicated by system|code. */
export function mergeLabels(sourceLabels: readonly Coding[], derived: readonly Coding[]): ItemLabels {
  const labels: Coding[] = [];
  const seen = new Set<string>();
  for (const label of [...sourceLabels, ...derived]) {
    const key = `${label.system ?? ''}|${label.code ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    labels.push(label);
  }
  const codes = new Set(labels.map((l) => l.code?.trim() ?? '').filter((c) => c !== ''));
  return { securityLabels: labels, labelCodes: [...codes].sort() };
}

/** Same labels in the same order, compared independently of jsonb's key order. */
export function sameLabels(a: readonly object[], b: readonly object[]): boolean {
  const canonical = (labels: readonly object[]) =>
    JSON.stringify(labels.map((label) => Object.entries(label).sort(([x], [y]) => (x < y ? -1 : 1))));
  return canonical(a) === canonical(b);
}
