export type Region = 'us' | 'cn' | 'eu';
export type Sex = 'M' | 'F';
/** How a source record spells the name: Latin script, Hanzi, or Hanyu Pinyin romanization of Hanzi. */
export type NameScript = 'latin' | 'hanzi' | 'pinyin';

export interface Address {
  readonly line: string;
  readonly city: string;
  readonly postalCode: string;
  /** ISO 3166-1 alpha-2. */
  readonly country: string;
}

/** The true, canonical demographics of a synthetic person. */
export interface Demographics {
  readonly family: string;
  readonly given: string;
  readonly middle?: string;
  /** Toneless pinyin of `family` / `given` for CN persons (e.g. "Ouyang", "Xiuying"). */
  readonly familyPinyin?: string;
  readonly givenPinyin?: string;
  readonly sex: Sex;
  /** YYYY-MM-DD */
  readonly birthDate: string;
  readonly address: Address;
  /** E.164, e.g. +12175550123 / +8613812345678 */
  readonly phone: string;
  /** US: synthetic 9xx-xx-xxxx (never a valid real SSN); CN: 18-digit resident identity number; EU: 10-digit Luhn. */
  readonly nationalId: string;
  readonly insuranceId: string;
}

export type PersonKind = 'regular' | 'twin' | 'placeholder';

export interface TruthPerson {
  readonly personId: string;
  readonly householdId: string;
  readonly region: Region;
  readonly kind: PersonKind;
  /** True for placeholder identities (Baby Boy Smith, John Doe, Unknown, Test Patient): never to be linked. */
  readonly placeholder: boolean;
  readonly twinOf?: string;
  readonly demographics: Demographics;
}

/** Demographics as one institution sent them: any field may be missing or wrong. */
export interface SourceDemographics {
  readonly family?: string;
  readonly given?: string;
  readonly middle?: string;
  readonly nameScript: NameScript;
  /** U = unknown (HL7 table 0001). */
  readonly sex?: Sex | 'U';
  /** YYYY-MM-DD */
  readonly birthDate?: string;
  readonly address?: Address;
  /** As typed by the institution (format varies). */
  readonly phone?: string;
  readonly nationalId?: string;
  readonly insuranceId?: string;
}

export type CorruptionKind =
  | 'typo-family'
  | 'typo-given'
  | 'homophone-given'
  | 'nickname'
  | 'swapped-names'
  | 'birth-date-transposed'
  | 'birth-year-off'
  | 'moved'
  | 'phone-changed'
  | 'married-surname'
  | 'hyphenated-surname'
  | 'national-id-typo'
  | 'insurance-changed'
  | 'missing-birth-date'
  | 'missing-sex'
  | 'missing-address'
  | 'missing-phone'
  | 'missing-national-id'
  | 'missing-insurance-id'
  | 'missing-given';

/** HL7 v3 ActCode encounter classes (FHIR Encounter.class). */
export type EncounterClass = 'IMP' | 'AMB' | 'EMER';

export interface Practitioner {
  readonly id: string;
  readonly family: string;
  readonly given: string;
}

export interface Encounter {
  readonly visitNumber: string;
  readonly class: EncounterClass;
  /** ISO 8601 UTC date-times. */
  readonly admit: string;
  readonly discharge: string;
  /** PV1-3 style: point of care, room, bed. */
  readonly location: { readonly pointOfCare: string; readonly room: string; readonly bed: string };
  readonly attending: Practitioner;
  readonly documents: readonly ClinicalDocument[];
  readonly results: readonly LabResult[];
}

export interface ClinicalDocument {
  readonly documentId: string;
  /** LOINC document type code and display. */
  readonly typeCode: string;
  readonly typeDisplay: string;
  readonly date: string;
  readonly text: string;
}

export interface LabResult {
  readonly resultId: string;
  /** LOINC code and display. */
  readonly code: string;
  readonly display: string;
  readonly value: number;
  /** UCUM unit. */
  readonly unit: string;
  readonly referenceRange: string;
  readonly effective: string;
}

export interface SourceRecord {
  /** `${institutionId}:${mrn}`: unique in a population. */
  readonly recordId: string;
  /** Ground truth: the person this record belongs to. */
  readonly personId: string;
  readonly institutionId: string;
  readonly assigningAuthority: string;
  readonly mrn: string;
  readonly demographics: SourceDemographics;
  /** Ground truth: which corruptions were applied to this copy. */
  readonly corruptions: readonly CorruptionKind[];
  /** Ground truth: this record is a placeholder identity. */
  readonly placeholder: boolean;
  readonly encounters: readonly Encounter[];
}

export interface InstitutionConfig {
  readonly id: string;
  /** Assigning authority of the institution's MRNs (e.g. an OID or a namespace id). */
  readonly assigningAuthority: string;
  /** CN only: whether the institution's system stores names in Hanzi or pinyin (default: derived from the id). */
  readonly nameScript?: 'hanzi' | 'pinyin';
  /** Sends names in upper case (default: derived from the id). */
  readonly upperCaseNames?: boolean;
  /** Latin only: an ASCII-only system that drops diacritics (default: derived from the id). */
  readonly asciiOnly?: boolean;
}

/** Per-source-record probabilities of each corruption (conditional on the field being applicable). */
export interface CorruptionRates {
  readonly typoFamily: number;
  readonly typoGiven: number;
  /** Only where the given name has a known nickname. */
  readonly nickname: number;
  readonly swappedNames: number;
  /** Only where day ≤ 12 and day ≠ month. */
  readonly birthDateTransposed: number;
  readonly birthYearOff: number;
  readonly moved: number;
  readonly phoneChanged: number;
  /** Only adult women in US/EU (surname change on marriage is not customary in CN). */
  readonly marriedSurname: number;
  /** US/EU only. */
  readonly hyphenatedSurname: number;
  readonly nationalIdTypo: number;
  readonly insuranceChanged: number;
  readonly missingBirthDate: number;
  readonly missingSex: number;
  readonly missingAddress: number;
  readonly missingPhone: number;
  readonly missingNationalId: number;
  readonly missingInsuranceId: number;
  readonly missingGiven: number;
}

export interface HardCaseRates {
  /** Household mix: the rest are single-person households. */
  readonly coupleHousehold: number;
  readonly familyHousehold: number;
  /** Families with twins (same birth date, surname, address; different given names). */
  readonly twinHousehold: number;
  /** Chance a single person gets the region's most common full name. */
  readonly commonName: number;
  /** Chance, per person, of one extra placeholder record (Baby Boy Smith, John Doe, Unknown, Test Patient). */
  readonly placeholder: number;
  /** Chance, per person, that one institution registered them twice (two MRNs at one institution). */
  readonly duplicateAtInstitution: number;
}

export interface PopulationOptions {
  readonly seed: number | string;
  /** Number of real (non-placeholder) persons. */
  readonly persons: number;
  readonly institutions: readonly InstitutionConfig[];
  readonly region: Region;
  /**
   * Weights for a person having 1, 2, 3, … visits in the region. Each visit happens at an institution
   * (the person's home institution with probability `homeInstitutionAffinity`, else any); every distinct
   * institution visited becomes one source record, and the visits there its encounters.
   */
  readonly visitsPerPerson?: readonly number[];
  readonly homeInstitutionAffinity?: number;
  readonly corruption?: Partial<CorruptionRates>;
  readonly hardCases?: Partial<HardCaseRates>;
  /** Attach documents / lab results to encounters (for the demo feed). */
  readonly clinical?: { readonly documents?: boolean; readonly results?: boolean };
  /** "Today" for ages and encounter dates, YYYY-MM-DD (default 2025-01-01). */
  readonly referenceDate?: string;
}

export interface PersonWithRecords {
  readonly person: TruthPerson;
  readonly records: readonly SourceRecord[];
}
