import { SENSITIVITY_SYSTEM, type SecurityLabel } from './model';
import type { DocumentOntology, LabelingRules } from './region-policy.loader';

/** A clinical coding as found on a resource (Coding-shaped; both parts optional as in FHIR). */
export interface CodingLike {
  readonly system?: string;
  readonly code?: string;
}

interface CompiledSystem {
  readonly exact: Map<string, Set<string>>;
  readonly prefixes: { readonly prefix: string; readonly label: string }[];
}

/** Codes compared upper-cased without dots or whitespace: ICD-10 `F10.20`, `f1020` and `F10` share the prefix F10. */
export function normalizeCode(code: string): string {
  return code.toUpperCase().replace(/[.\s]/g, '');
}

interface Compiled {
  readonly bySystem: Map<string, CompiledSystem>;
  /** The labels each document code of the ontology table gets from the ontology rules. */
  readonly ontology?: { readonly system: string; readonly labels: Map<string, readonly string[]> };
}

const compiled = new WeakMap<LabelingRules, Compiled>();

/** Axis values are compared trimmed and case-insensitively ("Mental health" = "mental Health"). */
function axisKey(value: string): string {
  return value.trim().toLowerCase();
}

/** Resolves the ontology table against its rules once: document code -> labels. */
function compileOntology(ontology: DocumentOntology): Map<string, readonly string[]> {
  const labelsByCode = new Map<string, readonly string[]>();
  for (const [code, entry] of Object.entries(ontology.codes)) {
    const labels = new Set<string>();
    for (const rule of ontology.rules) {
      const value = entry[rule.axis];
      if (value !== undefined && rule.values.some((v) => axisKey(v) === axisKey(value)))
        labels.add(rule.label);
    }
    if (labels.size > 0) labelsByCode.set(normalizeCode(code), [...labels]);
  }
  return labelsByCode;
}

function compile(rules: LabelingRules): Compiled {
  const cached = compiled.get(rules);
  if (cached) return cached;
  const bySystem = new Map<string, CompiledSystem>();
  for (const rule of rules.rules) {
    const systems = typeof rule.system === 'string' ? [rule.system] : rule.system;
    for (const system of systems) {
      let s = bySystem.get(system);
      if (!s) bySystem.set(system, (s = { exact: new Map(), prefixes: [] }));
      for (const code of rule.codes ?? []) {
        const key = normalizeCode(code);
        const labels = s.exact.get(key) ?? new Set<string>();
        labels.add(rule.label);
        s.exact.set(key, labels);
      }
      for (const prefix of rule.prefixes ?? [])
        s.prefixes.push({ prefix: normalizeCode(prefix), label: rule.label });
    }
  }
  const result: Compiled = {
    bySystem,
    ...(rules.documentOntology !== undefined
      ? {
          ontology: {
            system: rules.documentOntology.system,
            labels: compileOntology(rules.documentOntology),
          },
        }
      : {}),
  };
  compiled.set(rules, result);
  return result;
}

/**
 * The sensitivity labels (v3-ActCode) the region's rules give an item with these clinical codings:
 * - a coding matches a code rule when its system is one of the rule's systems and its normalized
 *   code is one of the rule's codes or starts with one of its prefixes;
 * - a coding of the document ontology's system whose code is in the ontology table gets the label
 *   of every ontology rule whose axis value (e.g. subject matter domain "Psychiatry") it has.
 * Codings without system or code match nothing. Unique, sorted by code. The registry unions these
 * with the labels the source sent.
 */
export function labelItem(codings: readonly CodingLike[], rules: LabelingRules): SecurityLabel[] {
  const { bySystem, ontology } = compile(rules);
  const labels = new Set<string>();
  for (const c of codings) {
    if (typeof c.system !== 'string' || typeof c.code !== 'string') continue;
    const code = normalizeCode(c.code);
    if (code === '') continue;
    if (ontology !== undefined && c.system === ontology.system)
      for (const l of ontology.labels.get(code) ?? []) labels.add(l);
    const s = bySystem.get(c.system);
    if (!s) continue;
    for (const l of s.exact.get(code) ?? []) labels.add(l);
    for (const p of s.prefixes) if (code.startsWith(p.prefix)) labels.add(p.label);
  }
  return [...labels].sort().map((code) => ({ system: SENSITIVITY_SYSTEM, code }));
}
