import type { TrustPerson } from './trust-model.builder';

/*
 * Messages of the identity-correction suite (identity-correction.int-spec.ts): the same bytes are
 * sent to the region with the right configuration and to the one with the wrong configuration, so
 * their times are fixed and every id carries the run. Demographics come from `trustPerson` and stay
 * in the messages: tests and their failure reports name MRNs, control ids and document numbers.
 */

/** A sending application and facility (MSH-3 / MSH-4). */
export interface Feed {
  readonly app: string;
  readonly facility: string;
}

export const FEEDS = {
  sta: { app: 'STA-HIS', facility: 'STAURELIA' },
  rcc: { app: 'RCC-EHR', facility: 'RIVERSIDE' },
  nvmc: { app: 'NVMC-ADT', facility: 'NVMC' },
} as const satisfies Record<string, Feed>;

/** St Aurelia's second assigning authority (its new registration desk): namespace STA2. */
export const STA2_SYSTEM = 'urn:oid:2.16.840.1.113883.3.9999.1.7';
/** North Valley's authority of the demo region (namespace NVMC). */
export const NVMC_SYSTEM = 'urn:oid:2.16.840.1.113883.3.9999.3.1';
/** Riverside's laboratory numbers, sent as a bare ISO OID in CX-4.2 (no namespace). */
export const RCC_LAB_OID = '2.16.840.1.113883.3.9999.2.9';
export const RCC_LAB_SYSTEM = `urn:oid:${RCC_LAB_OID}`;

export interface BuiltMessage {
  readonly controlId: string;
  readonly bytes: Buffer;
}

/** Fixed message times: both regions receive the same bytes. */
const AT = '20261201083000+0000';

function field(name: string, values: Record<number, string>, last: number): string {
  const fields = new Array<string>(last + 1).fill('');
  fields[0] = name;
  for (const [i, v] of Object.entries(values)) fields[Number(i)] = v;
  return fields.join('|');
}

function header(feed: Feed, type: string, controlId: string): string {
  return `MSH|^~\\&|${feed.app}|${feed.facility}|TESSERA|REGION|${AT}||${type}|${controlId}|P|2.5.1|||||USA|UNICODE UTF-8`;
}

/** PID with one MRN whose CX-4 is `authority` (a namespace, or `&<oid>&ISO`). */
function pid(person: TrustPerson, mrn: string, authority: string): string {
  return field(
    'PID',
    {
      1: '1',
      3: `${mrn}^^^${authority}^MR`,
      5: `${person.family}^${person.given}^^^^^L^A`,
      7: person.birthDate,
      8: person.sex,
      11: '27 Thornfield Row^^Millbrook^^02720^USA^H',
      13: '^PRN^PH^^1^508^5550179',
    },
    19,
  );
}

function pv1(feed: Feed, visit: string, authority: string): string {
  return field(
    'PV1',
    {
      1: '1',
      2: 'O',
      3: `CLINIC^1^1^${feed.facility}`,
      7: 'DR-4^Brannagh^Ilse^^^Dr',
      10: 'OUT',
      19: `${visit}^^^${authority}^VN`,
      44: AT,
    },
    44,
  );
}

export interface PatientMessage {
  readonly feed: Feed;
  readonly person: TrustPerson;
  readonly mrn: string;
  /** PID-3.4 / PV1-19.4 as sent. */
  readonly authority: string;
  readonly controlId: string;
  /** PD1-12 protection indicator; absent: no PD1. */
  readonly protection?: 'Y';
}

/** ADT^A04 with a visit (an encounter is indexed). */
export function adtA04(m: PatientMessage): BuiltMessage {
  const list = [
    header(m.feed, 'ADT^A04^ADT_A01', m.controlId),
    `EVN|A04|${AT}`,
    pid(m.person, m.mrn, m.authority),
  ];
  if (m.protection !== undefined) list.push(`PD1${'|'.repeat(12)}${m.protection}`);
  list.push(pv1(m.feed, `V-${m.mrn}`, m.authority));
  return { controlId: m.controlId, bytes: Buffer.from(list.join('\r') + '\r', 'utf8') };
}

/** MDM^T02 with a text discharge summary numbered `documentNumber` (TXA-12). */
export function mdmT02(m: PatientMessage & { readonly documentNumber: string }): BuiltMessage {
  const text = `Synthetic discharge summary ${m.documentNumber}, no findings.`;
  const list = [
    header(m.feed, 'MDM^T02^MDM_T02', m.controlId),
    `EVN|T02|${AT}`,
    pid(m.person, m.mrn, m.authority),
    pv1(m.feed, `V-${m.mrn}`, m.authority),
    `TXA|1|DS^Discharge summary^HL70270|TX|${AT}|||||DR-4^Brannagh^Ilse|||${m.documentNumber}^${m.feed.app}|||||AU`,
    `OBX|1|TX|18842-5^Discharge summary^LN||${text}||||||F`,
  ];
  return { controlId: m.controlId, bytes: Buffer.from(list.join('\r') + '\r', 'utf8') };
}
