/** A source record's demographics as the MPI receives them (any field may be missing). */
export interface MatchInput {
  readonly family?: string;
  readonly given?: string;
  readonly middle?: string;
  /** HL7 table 0001 / FHIR administrative gender; anything but M/F (or male/female) is treated as unknown. */
  readonly sex?: string;
  /** Any of the formats `normalizeDate` accepts. */
  readonly birthDate?: string;
  readonly address?: {
    readonly line?: string;
    readonly city?: string;
    readonly postalCode?: string;
    readonly country?: string;
  };
  readonly phone?: string;
  readonly nationalId?: string;
  readonly insuranceId?: string;
}

export type NationalIdScheme = 'cn-resident-id' | 'us-ssn' | 'luhn' | 'none';

/** Region-specific normalization (configuration, not code: see ARCHITECTURE "Where it runs"). */
export interface RegionConfig {
  /** Country calling codes to strip from phone numbers (e.g. ["1"], ["86"], ["49","33"]). */
  readonly phoneCountryCodes: readonly string[];
  /** National trunk prefix to strip ("0" in most of Europe and China, "" in NANP). */
  readonly phoneTrunkPrefix: string;
  readonly nationalIdScheme: NationalIdScheme;
  /** US: accept SSN-shaped numbers in the 9xx area (synthetic test data); never true in production. */
  readonly allowSyntheticSsn: boolean;
  /** How to read an ambiguous NN/NN/YYYY date: US month first, most others day first. */
  readonly dateOrder: 'MDY' | 'DMY';
}

export const REGION_US: RegionConfig = {
  phoneCountryCodes: ['1'],
  phoneTrunkPrefix: '',
  nationalIdScheme: 'us-ssn',
  allowSyntheticSsn: false,
  dateOrder: 'MDY',
};
export const REGION_CN: RegionConfig = {
  phoneCountryCodes: ['86'],
  phoneTrunkPrefix: '0',
  nationalIdScheme: 'cn-resident-id',
  allowSyntheticSsn: false,
  dateOrder: 'DMY',
};
export const REGION_EU: RegionConfig = {
  phoneCountryCodes: ['49', '33', '34', '39', '46', '48', '31', '32', '43', '45', '351', '353', '358'],
  phoneTrunkPrefix: '0',
  nationalIdScheme: 'luhn',
  allowSyntheticSsn: false,
  dateOrder: 'DMY',
};

/** Validity of a national identifier under the region's scheme; `unknown` when the scheme has no check. */
export type IdValidity = 'valid' | 'invalid' | 'unknown';

export interface NormalizedName {
  /** Lower-case ASCII (Latin folded, Hanzi converted to pinyin), no spaces or punctuation. */
  readonly latin: string;
  /** Lower-case ASCII tokens (hyphenated and compound names split). */
  readonly tokens: readonly string[];
  /** The Hanzi as sent (NFKC, spaces removed), when the name is written in Han characters. */
  readonly han?: string;
}

export interface NormalizedRecord {
  readonly family?: NormalizedName;
  readonly given?: NormalizedName;
  readonly middleInitial?: string;
  readonly sex?: 'M' | 'F';
  /** YYYY-MM-DD */
  readonly birthDate?: string;
  /** Digits of the national significant number (country code and trunk prefix removed). */
  readonly phone?: string;
  readonly postalCode?: string;
  readonly addressLine?: string;
  readonly city?: string;
  readonly nationalId?: { readonly value: string; readonly validity: IdValidity };
  readonly insuranceId?: string;
  /** Matches one of the rule set's placeholder patterns: never auto-linked. */
  readonly placeholder: boolean;
}

export type Decision = 'MATCH' | 'POSSIBLE_MATCH' | 'NO_MATCH';

export interface RuleLevel {
  readonly level: string;
  /** P(level | same person) */
  readonly m: number;
  /** P(level | different persons) */
  readonly u: number;
  /**
   * Upper bound on this level's weight, whatever m/u say. Used for "one digit off" identifiers: such a
   * pair is rare among non-matches, so log2(m/u) is large, but a typo'd id must not outweigh the rest.
   */
  readonly maxWeight?: number;
}

export interface RuleField {
  readonly field: ComparisonField;
  /** Ordered best first; the last one is the disagreement level. */
  readonly levels: readonly RuleLevel[];
}

export interface RuleSet {
  readonly version: string;
  readonly description?: string;
  readonly fields: readonly RuleField[];
  readonly thresholds: { readonly autoLink: number; readonly review: number };
  /**
   * Field levels that forbid an automatic link whatever the total (a sibling shares surname, birth date
   * for twins, address and phone, but not the given name): the decision is capped at POSSIBLE_MATCH.
   */
  readonly autoLinkVetoes: readonly AutoLinkVeto[];
  /** Regular expressions (case-insensitive, Unicode) matched against normalized full names. */
  readonly placeholderPatterns: readonly string[];
}

export interface FieldLevels {
  readonly field: ComparisonField;
  readonly levels: readonly string[];
}

/** A veto applies when its field is at one of its levels, unless one of the `unless` conditions holds. */
export interface AutoLinkVeto extends FieldLevels {
  readonly unless?: readonly FieldLevels[];
}

export type ComparisonField =
  'family' | 'given' | 'birthDate' | 'sex' | 'address' | 'phone' | 'nationalId' | 'insuranceId';

/** Level per field; null when either side is missing (contributes weight 0). */
export type ComparisonVector = Readonly<Record<ComparisonField, string | null>>;

export interface FieldComparison {
  readonly field: ComparisonField;
  readonly level: string | null;
  readonly weight: number;
}

export interface MatchResult {
  readonly score: number;
  readonly decision: Decision;
  readonly ruleSetVersion: string;
  readonly comparisons: readonly FieldComparison[];
  /** Why the decision is lower than the score alone would give (placeholder, veto). */
  readonly capped?: 'placeholder' | 'veto';
}
