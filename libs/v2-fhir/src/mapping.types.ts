import type {
  DiagnosticReport,
  DocumentReference,
  Encounter,
  Identifier,
  Observation,
  Patient,
} from '@medplum/fhirtypes';
import type { MappingError } from './mapping.error';

/**
 * Version of the v2 -> FHIR mapping rules. Bump the minor version when a mapping adds data, the major
 * version when the same message would map to different resources or ids. Every result carries it so
 * a replay can tell which rules produced a stored resource.
 */
export const MAPPER_VERSION = '1.2.0';

/**
 * Per-institution input to the mapper. Nothing here is guessed from the message: systems for
 * identifiers and local code systems come from the institution's registration.
 */
export interface MappingContext {
  /** The registered institution (sending facility) the message came from, e.g. "hosp-a". */
  readonly institutionId: string;
  /**
   * Patient identifier system (URI or urn:oid:) by assigning authority code: the key is the
   * CX-4.1 namespace id or the CX-4.2 universal id as sent in PID-3 / MRG-1; a key
   * "<authority>^<identifier type>" (CX-5, table 0203) wins over "<authority>".
   */
  readonly patientIdentifierSystems: Readonly<Record<string, string>>;
  /** System for PID-3 repetitions that carry no assigning authority at all (CX-4 empty). */
  readonly defaultPatientSystem: string;
  /**
   * Systems for other assigning authorities (XCN-9 of practitioners, PV1-19 visit numbers, EI-2/EI-3
   * of order and document numbers), keyed like patientIdentifierSystems; a key
   * "<authority>^<identifier type>" (table 0203, e.g. "HOSPA^VN") wins over "<authority>". Unknown
   * ones become urn:tessera:aa:<institutionId>:<authority>.
   */
  readonly identifierSystems?: Readonly<Record<string, string>>;
  /**
   * Code system URI by CWE-3 / CWE-6 name of coding system (HL7 table 0396 or a local "99xxx"
   * name). Consulted before the built-in table of standard systems.
   */
  readonly codeSystemMap?: Readonly<Record<string, string>>;
  /**
   * UTC offset ("+08:00") for timestamps that carry none, when MSH-7 carries none either
   * (HL7 v2 Chapter 2A DTM: without an offset the sender's local time applies). Without it such
   * timestamps are kept at date precision, with a warning.
   */
  readonly defaultUtcOffset?: string;
  /** When set, the caller pins a rules version: a different MAPPER_VERSION refuses to map (207). */
  readonly mapperVersion?: string;
}

/** Where in the message something was found (HL7 v2 ERL data type, as used in ERR-2). */
export interface Hl7Location {
  /** Segment id, e.g. "PID". */
  readonly segment: string;
  /** ERL.2: occurrence of this segment id in the message, 1-based. */
  readonly sequence: number;
  readonly field?: number;
  readonly repetition?: number;
  readonly component?: number;
}

/** A non-fatal issue. The message never contains field values (no PHI). */
export interface MappingWarning {
  readonly code: MappingWarningCode;
  readonly location?: Hl7Location;
  readonly message: string;
}

export type MappingWarningCode =
  | 'UNKNOWN_ASSIGNING_AUTHORITY'
  | 'UNKNOWN_CODE'
  | 'CODE_WITHOUT_SYSTEM'
  | 'INVALID_DATETIME'
  | 'TIMEZONE_UNKNOWN'
  | 'INVALID_NUMBER'
  | 'UNSUPPORTED_VALUE_TYPE'
  | 'MISSING_RECOMMENDED_FIELD'
  | 'IGNORED_DATA';

/** The bytes of a document, decoded from OBX-5 (ED or text lines). */
export interface DocumentContent {
  readonly contentType: string;
  /** The content bytes, base64-encoded. */
  readonly data: string;
  /** Number of content bytes. */
  readonly size: number;
  /** SHA-256 of the content bytes, lower-case hex. */
  readonly sha256: string;
}

/** A40 merge: the prior identifier (MRG-1) is merged into the surviving one (PID-3). */
export interface PatientMerge {
  readonly surviving: Identifier & { readonly system: string; readonly value: string };
  readonly survivingPatientId: string;
  readonly prior: Identifier & { readonly system: string; readonly value: string };
  readonly priorPatientId: string;
  /** All MRG-1 repetitions (e.g. prior MR plus prior national id). */
  readonly priorIdentifiers: readonly Identifier[];
  /** The prior record as a FHIR Patient: inactive, link replaced-by the surviving Patient. */
  readonly priorPatient: Patient;
}

export type MessageKind = 'adt' | 'oru' | 'mdm';

/** Everything one message maps to. Resource ids are deterministic (replays give equal resources). */
export interface MappingResult {
  readonly mapperVersion: string;
  readonly kind: MessageKind;
  /** MSH-9.1 / MSH-9.2 as sent. */
  readonly messageCode: string;
  readonly triggerEvent: string;
  /** The patient's id at the institution (PID-3 repetition chosen as local id) and its system. */
  readonly localPatientId: string;
  readonly patientSystem: string;
  readonly patient: Patient;
  readonly encounter?: Encounter;
  readonly reports: readonly DiagnosticReport[];
  readonly observations: readonly Observation[];
  readonly document?: DocumentReference;
  readonly content?: DocumentContent;
  readonly merge?: PatientMerge;
  readonly warnings: readonly MappingWarning[];
}

/**
 * - mapped: resources produced (possibly with warnings);
 * - unsupported: message type / trigger / shape this mapper does not handle (answer AR, ERR-3 200/201);
 * - invalid: required data missing or malformed (answer AE, ERR-3 101/102/103).
 */
export type MappingOutcome =
  | { readonly status: 'mapped'; readonly result: MappingResult }
  | { readonly status: 'unsupported'; readonly error: MappingError }
  | {
      readonly status: 'invalid';
      readonly errors: readonly MappingError[];
      readonly warnings: readonly MappingWarning[];
    };
