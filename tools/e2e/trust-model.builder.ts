import { createHash } from 'node:crypto';
import { RCC_SYSTEM, STA_SYSTEM } from './regional-feed.builder';

export { RCC_SYSTEM, STA_SYSTEM };

/** Facility codes (MSH-4) and PID-3 namespaces of the demo region (deploy/demo-region/institutions.yaml). */
const SITES = {
  sta: { app: 'STA-HIS', facility: 'STAURELIA', authority: 'STA', charset: 'UNICODE UTF-8' },
  rcc: { app: 'RCC-EHR', facility: 'RIVERSIDE', authority: 'RCC', charset: 'UNICODE UTF-8' },
} as const;
export type Site = keyof typeof SITES;

/** US SSA assigning authority (OID 2.16.840.1.113883.4.1); identifier type SS (HL7 table 0203). */
const SSA_AUTHORITY = 'USSSA&2.16.840.1.113883.4.1&ISO';

/**
 * One synthetic person of the trust-model suite. Demographics stay in this module: tests and their
 * failure messages use only MRNs, control ids, document numbers and enterprise ids.
 */
export interface TrustPerson {
  /** Short tag (letters and digits) carried by every id of this person. */
  readonly tag: string;
  readonly family: string;
  readonly given: string;
  /** HL7 DT (YYYYMMDD). */
  readonly birthDate: string;
  readonly sex: 'F' | 'M';
  /** Synthetic SSN in the never-issued 9xx area (MPI_NATIONAL_ID_PROFILE=synthetic accepts it). */
  readonly ssn: string;
  readonly staMrn: string;
  readonly rccMrn: string;
}

/** A document a message carries, with what a test needs to find it again (no demographics). */
export interface TrustDocument {
  /** TXA-12.1: masterIdentifier.value of the DocumentReference. */
  readonly number: string;
  readonly contentType: string;
  readonly bytes: Buffer;
  readonly sha256: string;
}

export interface BuiltMessage {
  readonly controlId: string;
  readonly bytes: Buffer;
  readonly document?: TrustDocument;
}

/**
 * `run` (lower-case letters and digits) + a person key → a person no one else sends. Persons of one
 * run share a family-name stem, address and phone: a suite with many persons gives each a given
 * name of its own (and sends no contact details) so the MPI never takes two of them for one.
 */
export function trustPerson(run: string, key: string, given?: string): TrustPerson {
  if (!/^[a-z0-9]{4,40}$/.test(run) || !/^[a-z]{1,4}$/.test(key)) throw new Error('run / key malformed');
  const letters = `${run}${key}`.replace(/\d/g, (d) => 'abcdefghij'[Number(d)] ?? 'a').slice(-10);
  const tag = `${run}${key}`.toUpperCase();
  const digest = createHash('sha256').update(tag).digest();
  const serial = String(1000 + (digest.readUInt16BE(0) % 9000));
  const group = String(10 + ((digest[2] ?? 0) % 90));
  return {
    tag,
    family: `Vantorre${letters}`,
    given: given ?? (key === 'b' ? 'Odalys' : 'Henrike'),
    birthDate: `19${60 + ((digest[3] ?? 0) % 35)}0${1 + ((digest[4] ?? 0) % 9)}1${(digest[5] ?? 0) % 9}`,
    sex: 'F',
    ssn: `9${String((digest[6] ?? 0) % 100).padStart(2, '0')}${group}${serial}`,
    staMrn: `STA-${tag}`,
    rccMrn: `RCC-${tag}`,
  };
}

function timestamp(at: Date): string {
  return at.toISOString().replace(/[-:T]/g, '').slice(0, 14) + '+0000';
}

function segments(list: readonly string[]): string {
  return list.join('\r') + '\r';
}

function field(name: string, values: Record<number, string>, last: number): string {
  const fields = new Array<string>(last + 1).fill('');
  fields[0] = name;
  for (const [i, v] of Object.entries(values)) fields[Number(i)] = v;
  return fields.join('|');
}

export interface PatientOptions {
  /** MRN under the site's authority (default: the person's MRN at that site). */
  readonly mrn?: string;
  /** Send the SSN as a further PID-3 repetition (type SS). */
  readonly ssn?: boolean;
  /** Send home address and phone (what a registration desk sends; an attacker may not know them). */
  readonly contact?: boolean;
  /** PD1-12 protection indicator (table 0136); absent: no PD1 segment. */
  readonly protection?: 'Y' | 'N';
  /** MSH-4 to claim (default: the site's own facility). */
  readonly facility?: string;
}

function header(site: Site, type: string, controlId: string, at: Date, facility?: string): string {
  const s = SITES[site];
  return `MSH|^~\\&|${s.app}|${facility ?? s.facility}|TESSERA|REGION|${timestamp(at)}||${type}|${controlId}|P|2.5.1|||||USA|${s.charset}`;
}

function pid(site: Site, person: TrustPerson, options: PatientOptions): string {
  const s = SITES[site];
  const mrn = options.mrn ?? (site === 'sta' ? person.staMrn : person.rccMrn);
  const ids = [`${mrn}^^^${s.authority}^MR`];
  if (options.ssn === true) ids.push(`${person.ssn}^^^${SSA_AUTHORITY}^SS`);
  const values: Record<number, string> = {
    1: '1',
    3: ids.join('~'),
    5: `${person.family}^${person.given}^^^^^L^A`,
    7: person.birthDate,
    8: person.sex,
  };
  if (options.contact !== false) {
    values[11] = '27 Thornfield Row^^Millbrook^^02720^USA^H';
    values[13] = '^PRN^PH^^1^508^5550179';
  }
  return field('PID', values, 19);
}

/** The visit an ADT message carries (default: an outpatient clinic visit, visit number from the tag). */
export interface VisitOptions {
  /** PV1-2 (table 0004): I inpatient, E emergency, O outpatient. */
  readonly patientClass?: 'I' | 'E' | 'O';
  /** PV1-19 visit number (default `<SITE>V-<tag>`). */
  readonly number?: string;
  /** PV1-3.1 point of care (default CLINIC). */
  readonly location?: string;
  /** PV1-45 discharge date/time (A03). */
  readonly dischargedAt?: Date;
}

function pv1(site: Site, tag: string, at: Date, visit: VisitOptions = {}): string {
  const s = SITES[site];
  const values: Record<number, string> = {
    1: '1',
    2: visit.patientClass ?? 'O',
    3: `${visit.location ?? 'CLINIC'}^1^1^${s.facility}`,
    7: 'DR-4^Brannagh^Ilse^^^Dr',
    10: visit.patientClass === 'E' ? 'EMR' : visit.patientClass === 'I' ? 'MED' : 'OUT',
    19: `${visit.number ?? `${site.toUpperCase()}V-${tag}`}^^^${s.authority}^VN`,
    44: timestamp(at),
  };
  if (visit.dischargedAt !== undefined) values[45] = timestamp(visit.dischargedAt);
  return field('PV1', values, visit.dischargedAt === undefined ? 44 : 45);
}

/**
 * An ADT message of the person at `site` (HL7 v2.5.1 Ch. 3): A04 register, A08 update, A01 admit,
 * A02 transfer, A03 discharge; the visit from `visit`.
 */
export function adt(
  site: Site,
  trigger: 'A01' | 'A02' | 'A03' | 'A04' | 'A08',
  person: TrustPerson,
  controlId: string,
  options: PatientOptions = {},
  at: Date = new Date(),
  visit: VisitOptions = {},
): BuiltMessage {
  const list = [
    header(site, `ADT^${trigger}^ADT_A01`, controlId, at, options.facility),
    `EVN|${trigger}|${timestamp(at)}`,
    pid(site, person, options),
  ];
  if (options.protection !== undefined) list.push(`PD1${'|'.repeat(12)}${options.protection}`);
  list.push(pv1(site, person.tag, at, visit));
  return { controlId, bytes: Buffer.from(segments(list), 'utf8') };
}

export interface NoteOptions extends PatientOptions {
  /** TXA-2 document type (table 0270), e.g. DS or CN. */
  readonly documentType: 'DS' | 'CN';
  /** OBX-3 (CWE), e.g. `34788-0^Psychiatry Consult note^LN`. */
  readonly observation: string;
  /** A PDF (OBX ED) or a text note (OBX TX). */
  readonly kind: 'pdf' | 'text';
}

/** MDM^T02 with one document (HL7 v2.5.1 Ch. 9); never a PD1 segment unless `protection` is set. */
export function mdmT02(
  site: Site,
  person: TrustPerson,
  controlId: string,
  documentNumber: string,
  options: NoteOptions,
  at: Date = new Date(),
): BuiltMessage {
  const ts = timestamp(at);
  const typeText = options.documentType === 'DS' ? 'Discharge summary' : 'Consultation';
  const contentType = options.kind === 'pdf' ? 'application/pdf' : 'text/plain';
  const bytes =
    options.kind === 'pdf'
      ? Buffer.from(
          `%PDF-1.4\n% Tessera trust-model synthetic document ${documentNumber}\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n`,
          'latin1',
        )
      : Buffer.from(`Synthetic consult note ${documentNumber}, no findings.`, 'utf8');
  const obx =
    options.kind === 'pdf'
      ? `OBX|1|ED|${options.observation}||${SITES[site].app}^AP^PDF^Base64^${bytes.toString('base64')}||||||F`
      : `OBX|1|TX|${options.observation}||${bytes.toString('utf8')}||||||F`;
  const list = [
    header(site, 'MDM^T02^MDM_T02', controlId, at, options.facility),
    `EVN|T02|${ts}`,
    pid(site, person, options),
  ];
  if (options.protection !== undefined) list.push(`PD1${'|'.repeat(12)}${options.protection}`);
  list.push(
    pv1(site, person.tag, at),
    `TXA|1|${options.documentType}^${typeText}^HL70270|${options.kind === 'pdf' ? 'AP' : 'TX'}|${ts}|||||DR-4^Brannagh^Ilse|||${documentNumber}^${SITES[site].app}|||||AU`,
    obx,
  );
  return {
    controlId,
    bytes: Buffer.from(segments(list), 'utf8'),
    document: {
      number: documentNumber,
      contentType,
      bytes,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    },
  };
}

/** PDQm query by the person's name and birth date (the exchange's Patient search). */
export function pdqQueryOf(person: TrustPerson): string {
  const birth = person.birthDate.replace(/(\d{4})(\d{2})(\d{2})/, '$1-$2-$3');
  return `/fhir/Patient?family=${encodeURIComponent(person.family)}&given=${encodeURIComponent(person.given)}&birthdate=${birth}`;
}

/** The opt-out an institution records for a patient it holds (FHIR R4 Consent, deny base). */
export { optOutConsent } from '../demo-exchange/tour-plan';
