import { SENSITIVITY_SYSTEM, type SecurityLabel } from './model';
import type { LabelingRules } from './region-policy.loader';

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

const compiled = new WeakMap<LabelingRules, Map<string, CompiledSystem>>();

function compile(rules: LabelingRules): Map<string, CompiledSystem> {
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
  compiled.set(rules, bySystem);
  return bySystem;
}

/**
 * The sensitivity labels (v3-ActCode) the region's rules give an item with these clinical codings:
 * a coding matches a rule when its system is one of the rule's systems and its normalized code is
 * one of the rule's codes or starts with one of its prefixes. Codings without system or code match
 * nothing. Unique, sorted by code. The registry unions these with the labels the source sent.
 */
export function labelItem(codings: readonly CodingLike[], rules: LabelingRules): SecurityLabel[] {
  const index = compile(rules);
  const labels = new Set<string>();
  for (const c of codings) {
    if (typeof c.system !== 'string' || typeof c.code !== 'string') continue;
    const s = index.get(c.system);
    if (!s) continue;
    const code = normalizeCode(c.code);
    if (code === '') continue;
    for (const l of s.exact.get(code) ?? []) labels.add(l);
    for (const p of s.prefixes) if (code.startsWith(p.prefix)) labels.add(p.label);
  }
  return [...labels].sort().map((code) => ({ system: SENSITIVITY_SYSTEM, code }));
}
