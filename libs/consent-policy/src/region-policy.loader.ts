import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { PURPOSES_OF_USE, type RegionPolicy } from './model';

const labelCode = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'expected a security label code such as PSY');

const RegionPolicySchema = z
  .strictObject({
    defaultSharing: z.enum(['opt-in', 'opt-out']),
    sharingPurposes: z.array(z.enum(PURPOSES_OF_USE)),
    sensitiveByDefault: z.array(labelCode),
    absoluteLabels: z.array(labelCode),
    breakGlassMinutes: z
      .number()
      .int()
      .min(1)
      .max(24 * 60),
    discoverableWhenOptedOut: z.boolean(),
  })
  .superRefine((p, ctx) => {
    p.absoluteLabels.forEach((l, i) => {
      if (!p.sensitiveByDefault.includes(l))
        ctx.addIssue({
          code: 'custom',
          path: ['absoluteLabels', i],
          message: `${l} must also be listed in sensitiveByDefault`,
        });
    });
  });

/** One labeling rule: codings of `system` whose code is in `codes` or starts with one of `prefixes` get `label`. */
export interface LabelingRule {
  readonly system: string | readonly string[];
  readonly codes?: readonly string[];
  readonly prefixes?: readonly string[];
  /** A sensitivity code (v3-ActCode), e.g. PSY. */
  readonly label: string;
  /** Free text, why this rule exists (documentation only). */
  readonly note?: string;
}

/**
 * Axes of the LOINC Document Ontology a document code is described by (LOINC Users' Guide,
 * "Document Ontology"): `component` = Type of Service + Kind of Document (LOINC Component, e.g.
 * "Consultation note"), `setting` (LOINC System, e.g. "Hospital"), `domain` = Subject Matter Domain
 * and `role` of the author (together the LOINC Method, e.g. "Psychiatry.nurse").
 */
export const DOCUMENT_ONTOLOGY_AXES = ['component', 'setting', 'domain', 'role'] as const;
export type DocumentOntologyAxis = (typeof DOCUMENT_ONTOLOGY_AXES)[number];

/** One document code's ontology axes (values as LOINC publishes them), and its name for readers. */
export type DocumentOntologyEntry = Partial<Readonly<Record<DocumentOntologyAxis, string>>> & {
  readonly name?: string;
};

/** Documents whose `axis` has one of `values` (case-insensitive) get `label`. */
export interface DocumentOntologyRule {
  readonly axis: DocumentOntologyAxis;
  readonly values: readonly string[];
  readonly label: string;
  readonly note?: string;
}

/** The region's excerpt of the LOINC Document Ontology, and the labels its axes give. */
export interface DocumentOntology {
  /** Code system of the table's codes (default http://loinc.org). */
  readonly system: string;
  /** Where the table's values come from (release, file): required, so a reader can check them. */
  readonly source: string;
  readonly codes: Readonly<Record<string, DocumentOntologyEntry>>;
  readonly rules: readonly DocumentOntologyRule[];
}

export interface LabelingRules {
  readonly version: string;
  readonly rules: readonly LabelingRule[];
  readonly documentOntology?: DocumentOntology;
}

const LabelingRuleSchema = z
  .strictObject({
    system: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    codes: z.array(z.string().min(1)).optional(),
    prefixes: z.array(z.string().min(1)).optional(),
    label: labelCode,
    note: z.string().optional(),
  })
  .refine((r) => (r.codes?.length ?? 0) + (r.prefixes?.length ?? 0) > 0, {
    message: 'a rule needs at least one of codes or prefixes',
  });

const axisValue = z.string().trim().min(1);

const DocumentOntologyEntrySchema = z
  .strictObject({
    component: axisValue.optional(),
    setting: axisValue.optional(),
    domain: axisValue.optional(),
    role: axisValue.optional(),
    name: z.string().optional(),
  })
  .refine((e) => DOCUMENT_ONTOLOGY_AXES.some((axis) => e[axis] !== undefined), {
    message: `an entry needs at least one of ${DOCUMENT_ONTOLOGY_AXES.join(', ')}`,
  });

const DocumentOntologySchema = z.strictObject({
  system: z.string().min(1).default('http://loinc.org'),
  source: z.string().trim().min(1, 'say where the table comes from (LOINC release, file)'),
  codes: z.record(z.string().min(1), DocumentOntologyEntrySchema),
  rules: z.array(
    z.strictObject({
      axis: z.enum(DOCUMENT_ONTOLOGY_AXES),
      values: z.array(axisValue).min(1),
      label: labelCode,
      note: z.string().optional(),
    }),
  ),
});

const LabelingRulesSchema = z.strictObject({
  version: z.union([z.string().min(1), z.number()]).transform(String),
  rules: z.array(LabelingRuleSchema),
  documentOntology: DocumentOntologySchema.optional(),
});

function load<T>(what: string, schema: z.ZodType<T>, input: unknown): T {
  let data = input;
  if (typeof input === 'string') {
    try {
      data = parseYaml(input) as unknown;
    } catch (e) {
      throw new Error(
        `Invalid ${what}: not YAML (${e instanceof Error ? e.message.split('\n')[0] : 'parse error'})`,
      );
    }
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    const details = parsed.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`)
      .join('; ');
    throw new Error(`Invalid ${what}: ${details}`);
  }
  return parsed.data;
}

/** Parses the region's consent policy (YAML text or an already parsed object); throws naming the bad field. */
export function parseRegionPolicy(yamlOrObject: unknown): RegionPolicy {
  return load('region consent policy', RegionPolicySchema, yamlOrObject);
}

/** Parses labeling rules (YAML text or an already parsed object); throws naming the bad field. */
export function parseLabelingRules(yamlOrObject: unknown): LabelingRules {
  return load('labeling rules', LabelingRulesSchema, yamlOrObject);
}
