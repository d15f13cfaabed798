import { createHash } from 'node:crypto';

/** Identifier systems of the demo region's assigning authorities (deploy/demo-region/institutions.yaml). */
export const STA_SYSTEM = 'urn:oid:2.16.840.1.113883.3.9999.1.1';
export const RCC_SYSTEM = 'urn:oid:2.16.840.1.113883.3.9999.2.1';

/** One synthetic person known at St Aurelia and at Riverside (same demographics, different MRNs). */
export interface E2ePerson {
  readonly family: string;
  readonly given: string;
  /** HL7 DT (YYYYMMDD). */
  readonly birthDate: string;
  readonly sex: 'F' | 'M';
  readonly staMrn: string;
  readonly rccMrn: string;
}

export interface RegionalFeed {
  readonly person: E2ePerson;
  /** The document St Aurelia sends (OBX ED, application/pdf) and its SHA-256. */
  readonly pdf: Buffer;
  readonly pdfSha256: Buffer;
  /** MSH-10 of each message, in sending order (St Aurelia's, then Riverside's). */
  readonly controlIds: readonly string[];
  /** ADT^A04 and MDM^T02 from St Aurelia (UNICODE UTF-8). */
  readonly stAurelia: readonly string[];
  /** ADT^A04 and MDM^T02 (a TX note) from Riverside, encoded ISO 8859-1 as its feed declares. */
  readonly riverside: readonly Buffer[];
}

/**
 * The messages of the end-to-end test, unique per `run` (a lower-case alphanumeric id): MRNs,
 * control ids, visit and document numbers carry it, and the family name carries it as letters so
 * the MPI and PDQm see a person nobody else sends. HL7 v2.5.1, Ch. 3 (ADT A04) and Ch. 9 (MDM T02).
 */
export function buildRegionalFeed(run: string, at: Date = new Date()): RegionalFeed {
  if (!/^[a-z0-9]{4,40}$/.test(run)) throw new Error('run id: 4-40 lower-case letters or digits');
  const letters = run.replace(/\d/g, (d) => 'abcdefghij'[Number(d)] ?? 'a').slice(-8);
  const tag = run.toUpperCase();
  const person: E2ePerson = {
    family: `Quillane${letters}`,
    given: 'Marisol',
    birthDate: '19790214',
    sex: 'F',
    staMrn: `STA-${tag}`,
    rccMrn: `RCC-${tag}`,
  };
  const pdf = Buffer.from(
    `%PDF-1.4\n% Tessera end-to-end synthetic document ${run}\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n`,
    'latin1',
  );
  const ts = at.toISOString().replace(/[-:T]/g, '').slice(0, 14) + '+0000';
  const name = `${person.family}^${person.given}^^^^^L^A`;
  const address = '48 Larkspur Lane^^Fairhaven^^02719^USA^H';
  const phone = '^PRN^PH^^1^508^5550142';
  const msh = (app: string, facility: string, type: string, control: string, charset: string) =>
    `MSH|^~\\&|${app}|${facility}|TESSERA|REGION|${ts}||${type}|${control}|P|2.5.1|||||USA|${charset}`;
  const pid = (mrn: string, authority: string) =>
    `PID|1||${mrn}^^^${authority}^MR||${name}||${person.birthDate}|${person.sex}|||${address}||${phone}`;
  const pv1 = (facility: string, authority: string, visit: string) => {
    const fields = new Array<string>(45).fill('');
    fields[0] = 'PV1';
    fields[1] = '1';
    fields[2] = 'O'; // PV1-2 patient class: outpatient
    fields[3] = `CLINIC^1^1^${facility}`;
    fields[7] = 'DR-7^Okafor^Ada^^^Dr'; // PV1-7 attending (synthetic)
    fields[10] = 'OUT';
    fields[19] = `${visit}^^^${authority}^VN`;
    fields[44] = ts; // PV1-44 admit
    return fields.join('|');
  };
  const hl7 = (segments: string[]): string => segments.join('\r') + '\r';
  const controlIds = ['sta-a04', 'sta-t02', 'rcc-a04', 'rcc-t02'].map((s) => `${run}-${s}`);
  const [staA04, staT02, rccA04, rccT02] = controlIds as [string, string, string, string];
  return {
    person,
    pdf,
    pdfSha256: createHash('sha256').update(pdf).digest(),
    controlIds,
    stAurelia: [
      hl7([
        msh('STA-HIS', 'STAURELIA', 'ADT^A04^ADT_A01', staA04, 'UNICODE UTF-8'),
        `EVN|A04|${ts}`,
        pid(person.staMrn, 'STA'),
        pv1('STAURELIA', 'STA', `V-${tag}`),
      ]),
      hl7([
        msh('STA-HIS', 'STAURELIA', 'MDM^T02^MDM_T02', staT02, 'UNICODE UTF-8'),
        `EVN|T02|${ts}`,
        pid(person.staMrn, 'STA'),
        pv1('STAURELIA', 'STA', `V-${tag}`),
        `TXA|1|DS^Discharge summary^HL70270|AP|${ts}|||||DR-7^Okafor^Ada|||DOC-${tag}^STA-HIS|||||AU`,
        // ED-2/ED-3 from tables 0191/0291: AP + PDF → application/pdf.
        `OBX|1|ED|18842-5^Discharge summary^LN||STA-HIS^AP^PDF^Base64^${pdf.toString('base64')}||||||F`,
      ]),
    ],
    riverside: [
      hl7([
        msh('RCC-EHR', 'RIVERSIDE', 'ADT^A04^ADT_A01', rccA04, '8859/1'),
        `EVN|A04|${ts}`,
        pid(person.rccMrn, 'RCC'),
        pv1('RIVERSIDE', 'RCC', `RV-${tag}`),
      ]),
      // Riverside's own note: stays visible to Riverside after the opt-out (so totals are checked).
      hl7([
        msh('RCC-EHR', 'RIVERSIDE', 'MDM^T02^MDM_T02', rccT02, '8859/1'),
        `EVN|T02|${ts}`,
        pid(person.rccMrn, 'RCC'),
        pv1('RIVERSIDE', 'RCC', `RV-${tag}`),
        `TXA|1|CN^Consultation^HL70270|TX|${ts}|||||DR-9^Lindqvist^Per|||RDOC-${tag}^RCC-EHR|||||AU`,
        'OBX|1|TX|11488-4^Consult note^LN||Synthetic follow-up note, no findings.||||||F',
      ]),
    ].map((text) => Buffer.from(text, 'latin1')),
  };
}
