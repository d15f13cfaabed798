import { formatDtm, Hl7MessageBuilder, repeat } from '@tessera/hl7v2';
import type { Hl7FieldValue, Hl7RepetitionValue } from '@tessera/hl7v2';
import { generatePopulation } from '@tessera/synthetic-population';
import type {
  ClinicalDocument,
  Encounter,
  LabResult,
  PersonWithRecords,
  PopulationOptions,
  SourceRecord,
  TruthPerson,
} from '@tessera/synthetic-population';
import type { DemoInstitution } from './institutions.loader';

/*
 * The demo regional feed: HL7 v2.5.1 messages that the institutions of the demo region would send
 * for a seeded synthetic population (libs/synthetic-population), ready to go over MLLP.
 *
 * Per source record (one patient at one institution), in time order:
 *   ADT^A01 (inpatient admit) or ADT^A04 (outpatient/ED registration)   Ch. 3 §3.3.1 / §3.3.4
 *   ORU^R01 per encounter with lab results (ORC/OBR/OBX NM)            Ch. 7 §7.3.1
 *   MDM^T02 per encounter with a document (TXA + OBX TX, one OBX ED)   Ch. 9 §9.6.2
 *   ADT^A03 discharge for inpatient and ED encounters                  Ch. 3 §3.3.3
 *   ADT^A08 demographic update for every fifth record                  Ch. 3 §3.3.8
 * plus one ADT^A40 merge of a duplicate registration (Ch. 3 §3.3.40) and two deliberately bad
 * messages (no PID-3 → AE/101; unknown MSH-4 → AR).
 *
 * Everything is deterministic for (seed, persons, institutions, runTag).
 */

export interface DemoFeedOptions {
  readonly institutions: readonly DemoInstitution[];
  readonly seed?: number;
  /** Real (non-placeholder) persons in the region, CN visitors included. Default 60. */
  readonly persons?: number;
  /** Goes into every MSH-10 so that two runs do not collide in the gateway's dedupe. Default 'demo'. */
  readonly runTag?: string;
}

export type AckCode = 'AA' | 'AE' | 'AR' | 'CA' | 'CE' | 'CR';

export interface DemoMessage {
  /** Institution id, or 'unknown' for the message from an unregistered facility. */
  readonly institution: string;
  /** MSH-4.1 */
  readonly sendingFacility: string;
  /** MSH-18: the charset the message must be encoded in. */
  readonly charset: string;
  /** MSH-9.1^MSH-9.2, e.g. "ADT^A04". */
  readonly messageType: string;
  /** MSH-10 */
  readonly controlId: string;
  readonly expectedAck: AckCode;
  /** Table 0357 code expected in ERR-3 for a negative ACK. */
  readonly expectedErrorCode?: string;
  /** Ground truth (synthetic): whose message this is and the local id (PID-3.1) it carries. */
  readonly personId?: string;
  readonly localId?: string;
  /** Why a message is special (bad messages, merge, ED document). */
  readonly note?: string;
  /** The message text, segments terminated by CR. */
  readonly hl7: string;
}

const DEFAULT_PERSONS = 60;
const RECEIVING_APPLICATION = 'TESSERA';
const RECEIVING_FACILITY = 'HIE';
const SEED_ATTEMPTS = 64;

/** Sending application (MSH-3) per institution id: invented system names. */
const SENDING_APPLICATIONS: Readonly<Record<string, string>> = {
  'st-aurelia': 'AURELIA_HIS',
  riverside: 'RCC_EMR',
  'north-valley': 'NVMC_ADT',
  'donghai-people': 'DHPH_HIS',
};

/** HL7 table 0004 patient class for each encounter class. */
const PATIENT_CLASS: Readonly<Record<Encounter['class'], string>> = { IMP: 'I', AMB: 'O', EMER: 'E' };
/** PV2-3 admit reason per encounter class (synthetic, coded as free text). */
const ADMIT_REASON: Readonly<Record<Encounter['class'], string>> = {
  IMP: 'Elective admission',
  AMB: 'Follow-up visit',
  EMER: 'Acute presentation',
};

interface Event {
  readonly at: number;
  readonly seq: number;
  readonly message: Omit<DemoMessage, 'controlId' | 'hl7'> & { build(controlId: string): string };
}

interface Site {
  readonly inst: DemoInstitution;
  readonly app: string;
  /** MSH-17 country code (ISO 3166 alpha-3). */
  readonly country: string;
  readonly enhanced: boolean;
}

/** Builds the whole feed: every institution's messages in send order. */
export function buildDemoFeed(options: DemoFeedOptions): DemoMessage[] {
  const seed = options.seed ?? 1;
  const persons = options.persons ?? DEFAULT_PERSONS;
  const runTag = options.runTag ?? 'demo';
  if (!Number.isInteger(persons) || persons < 4) throw new Error('persons must be an integer >= 4');
  const byId = new Map(options.institutions.map((i) => [i.id, i]));
  const cnHospital = options.institutions.find((i) => /GB ?18030/i.test(i.charset));
  const westSites = options.institutions.filter((i) => i !== cnHospital);
  if (westSites.length === 0)
    throw new Error('the demo feed needs at least one institution that is not GB 18030');
  const visitedBy = westSites[0];

  const sites = new Map<string, Site>(
    options.institutions.map((inst) => [
      inst.id,
      {
        inst,
        app: SENDING_APPLICATIONS[inst.id] ?? inst.id.toUpperCase().replace(/[^A-Z0-9]/g, '_'),
        country: inst === cnHospital ? 'CHN' : 'USA',
        // 'enhanced' feeds get MSH-15 AL / MSH-16 NE (commit ACK CA); the others original mode (AA).
        enhanced: inst.ackMode === 'enhanced',
      },
    ]),
  );

  const cnPersons = cnHospital === undefined ? 0 : Math.max(2, Math.round(persons / 10));
  const west = pickPopulation(seed, 'us', persons - cnPersons, westSites, usScore);
  const east =
    cnHospital === undefined
      ? []
      : pickPopulation(seed, 'cn', cnPersons, [cnHospital, visitedBy], (all) =>
          cnScore(all, cnHospital.id, visitedBy.id),
        );
  const eastRemapped = remapCollisions(west, east, visitedBy.id);

  const households = new Map<string, TruthPerson[]>();
  for (const { person } of [...west, ...eastRemapped]) {
    households.set(person.householdId, [...(households.get(person.householdId) ?? []), person]);
  }

  const events: Event[] = [];
  let seq = 0;
  const push = (at: number, message: Event['message']): void => {
    events.push({ at, seq: seq++, message });
  };

  const ctx: RecordContext = { households, sites, push, attendingFor: westAttendings(west, visitedBy.id) };
  let recordIndex = 0;
  let edDocumentDone = false;
  for (const { person, records } of [...west, ...eastRemapped]) {
    for (const record of records) {
      const inst = byId.get(record.institutionId);
      if (inst === undefined) continue;
      edDocumentDone = recordEvents(ctx, person, record, recordIndex++, !edDocumentDone) || edDocumentDone;
    }
  }

  addMerge(ctx, west, byId);
  addBadMessages(ctx, west, byId, cnHospital);

  // Per institution, in time order; control ids numbered in that order.
  events.sort((a, b) => a.at - b.at || a.seq - b.seq);
  const counters = new Map<string, number>();
  return events.map(({ message }) => {
    const n = (counters.get(message.sendingFacility) ?? 0) + 1;
    counters.set(message.sendingFacility, n);
    const controlId = `${message.sendingFacility}-${runTag}-${String(n).padStart(5, '0')}`;
    const { build, ...rest } = message;
    return { ...rest, controlId, hl7: build(controlId) };
  });
}

// ---------------------------------------------------------------------------------------------
// Population choice: the first of SEED_ATTEMPTS seeds derived from `seed` that has every hard case
// the demo wants to show (twins, a "Baby Boy", persons at 2 and 3 institutions, a duplicate MRN),
// or else the one with the most of them. Deterministic.

type Score = (all: readonly PersonWithRecords[]) => number;

function pickPopulation(
  seed: number,
  region: 'us' | 'cn',
  persons: number,
  institutions: readonly DemoInstitution[],
  score: Score,
): PersonWithRecords[] {
  const base: Omit<PopulationOptions, 'seed'> = {
    persons,
    region,
    institutions: institutions.map((i, index) => ({
      id: i.id,
      assigningAuthority: i.assigningAuthority,
      // The CN hospital keeps Hanzi; the western hospital a CN visitor goes to keeps pinyin.
      ...(region === 'cn' ? { nameScript: index === 0 ? ('hanzi' as const) : ('pinyin' as const) } : {}),
    })),
    clinical: { documents: true, results: true },
    homeInstitutionAffinity: region === 'cn' ? 0.3 : 0.45,
    ...(region === 'cn' ? { visitsPerPerson: [0.3, 0.4, 0.3] } : {}),
    hardCases:
      region === 'us'
        ? { twinHousehold: 0.12, placeholder: 0.08, duplicateAtInstitution: 0.05 }
        : { placeholder: 0.05 },
    referenceDate: '2025-01-01',
  };
  let best: PersonWithRecords[] = [];
  let bestScore = -1;
  for (let attempt = 0; attempt < SEED_ATTEMPTS; attempt++) {
    const all = Array.from(generatePopulation({ ...base, seed: `${seed}:${region}:${attempt}` }).persons());
    const s = score(all);
    if (s > bestScore) {
      best = all;
      bestScore = s;
    }
    if (s >= 5) break;
  }
  return best;
}

function institutionCount(p: PersonWithRecords): number {
  return new Set(p.records.map((r) => r.institutionId)).size;
}

function usScore(all: readonly PersonWithRecords[]): number {
  const twins = all.some((p) => p.person.kind === 'twin');
  const babyBoy = all.some(
    (p) => p.person.placeholder && /^baby boy$/i.test(p.records[0]?.demographics.given ?? ''),
  );
  const atTwo = all.filter((p) => institutionCount(p) >= 2).length >= 3;
  const atThree = all.some((p) => institutionCount(p) >= 3);
  const duplicate = all.some((p) => p.records.length > institutionCount(p));
  return [twins, babyBoy, atTwo, atThree, duplicate].filter(Boolean).length;
}

function cnScore(all: readonly PersonWithRecords[], cn: string, west: string): number {
  const both = all.some(
    (p) => p.records.some((r) => r.institutionId === cn) && p.records.some((r) => r.institutionId === west),
  );
  return both ? 5 : 0;
}

/**
 * The CN visitors come from a second population whose MRNs and visit numbers at the western
 * hospital are numbered independently: shift any that the main population already uses there.
 */
function remapCollisions(
  west: readonly PersonWithRecords[],
  east: readonly PersonWithRecords[],
  sharedSite: string,
): PersonWithRecords[] {
  const usedMrns = new Set<string>();
  const usedVisits = new Set<string>();
  for (const p of west)
    for (const r of p.records)
      if (r.institutionId === sharedSite) {
        usedMrns.add(r.mrn);
        for (const e of r.encounters) usedVisits.add(e.visitNumber);
      }
  const free = (used: Set<string>, value: string, prefix: string): string => {
    let v = value;
    for (let n = Number(value.replace(/\D/g, '')); used.has(v); n = (n + 1) % 100_000_000)
      v = `${prefix}${String(n + 1).padStart(8, '0')}`;
    used.add(v);
    return v;
  };
  return east.map((p) => ({
    person: p.person,
    records: p.records.map((r): SourceRecord => {
      if (r.institutionId !== sharedSite) return r;
      const mrn = free(usedMrns, r.mrn, '');
      return {
        ...r,
        mrn,
        recordId: `${r.institutionId}:${mrn}`,
        encounters: r.encounters.map((e) => ({ ...e, visitNumber: free(usedVisits, e.visitNumber, 'V') })),
      };
    }),
  }));
}

/** Attending physicians of the western hospital (so a CN visitor there is seen by its own staff). */
function westAttendings(west: readonly PersonWithRecords[], site: string): readonly Encounter['attending'][] {
  const seen = new Map<string, Encounter['attending']>();
  for (const p of west)
    for (const r of p.records)
      if (r.institutionId === site) for (const e of r.encounters) seen.set(e.attending.id, e.attending);
  return Array.from(seen.values()).sort((a, b) => a.id.localeCompare(b.id));
}

// ---------------------------------------------------------------------------------------------
// Messages of one source record.

interface RecordContext {
  readonly households: ReadonlyMap<string, readonly TruthPerson[]>;
  readonly sites: ReadonlyMap<string, Site>;
  readonly attendingFor: readonly Encounter['attending'][];
  push(at: number, message: Event['message']): void;
}

/** Returns true when it used the one ED (base64) document of the feed. */
function recordEvents(
  ctx: RecordContext,
  person: TruthPerson,
  record: SourceRecord,
  index: number,
  edAvailable: boolean,
): boolean {
  const site = ctx.sites.get(record.institutionId)!;
  const charset = site.inst.charset;
  const facility = site.inst.sendingFacilities[0];
  const labFacility = site.inst.sendingFacilities[1] ?? facility;
  const expectedAck: AckCode = site.enhanced ? 'CA' : 'AA';
  const base = {
    institution: site.inst.id,
    charset,
    expectedAck,
    personId: person.personId,
    localId: record.mrn,
  };
  const foreignVisitor = person.region === 'cn' && site.country !== 'CHN';
  const pinyin = pinyinOf(person, record);
  let usedEd = false;

  record.encounters.forEach((encounterRaw, k) => {
    const encounter =
      foreignVisitor && ctx.attendingFor.length > 0
        ? { ...encounterRaw, attending: ctx.attendingFor[(index + k) % ctx.attendingFor.length] }
        : encounterRaw;
    const admitAt = Date.parse(encounter.admit);
    const event = encounter.class === 'IMP' ? 'A01' : 'A04';
    ctx.push(admitAt, {
      ...base,
      sendingFacility: facility,
      messageType: `ADT^${event}`,
      build: (id) =>
        adt(site, facility, id, event, admitAt, (b) => {
          pid(b, site, record, record.demographics, pinyin);
          if (index % 2 === 0) pd1(b, site, encounter);
          nk1(b, ctx, person, record);
          pv1(b, site, encounter, false);
          if (encounter.class !== 'AMB')
            b.segment('PV2', [undefined, undefined, ['', ADMIT_REASON[encounter.class]]]);
        }),
    });

    if (encounter.results.length > 0) {
      const at = Math.max(...encounter.results.map((r) => Date.parse(r.effective))) + 15 * 60_000;
      ctx.push(at, {
        ...base,
        sendingFacility: labFacility,
        messageType: 'ORU^R01',
        build: (id) => oru(site, labFacility, id, at, record, encounter, encounter.results, pinyin),
      });
    }

    for (const document of encounter.documents) {
      const at = Date.parse(document.date) + 30 * 60_000;
      const ed = edAvailable && !usedEd;
      usedEd ||= ed;
      ctx.push(at, {
        ...base,
        sendingFacility: facility,
        messageType: 'MDM^T02',
        ...(ed ? { note: 'document as OBX ED (base64 PDF)' } : {}),
        build: (id) => mdm(site, facility, id, at, record, encounter, document, ed, pinyin),
      });
    }

    if (encounter.class !== 'AMB') {
      const at = Date.parse(encounter.discharge);
      ctx.push(at, {
        ...base,
        sendingFacility: facility,
        messageType: 'ADT^A03',
        build: (id) =>
          adt(site, facility, id, 'A03', at, (b) => {
            pid(b, site, record, record.demographics, pinyin);
            pv1(b, site, encounter, true);
          }),
      });
    }
  });

  // A08: every fifth record gets a demographic update after its first visit (new phone / address).
  const first = record.encounters[0];
  if (index % 5 === 2 && first !== undefined) {
    const at = Date.parse(first.discharge) + 2 * 86_400_000;
    const d = record.demographics;
    const updated =
      d.phone !== undefined
        ? { ...d, phone: bumpLastDigit(d.phone) }
        : { ...d, address: person.demographics.address };
    ctx.push(at, {
      ...base,
      sendingFacility: facility,
      messageType: 'ADT^A08',
      build: (id) =>
        adt(site, facility, id, 'A08', at, (b) => {
          pid(b, site, record, updated, pinyin);
          pv1(b, site, first, true);
        }),
    });
  }
  return usedEd;
}

/** ADT^A40 merge (Ch. 3 §3.3.40): the second MRN a person got at one institution is merged into the first. */
function addMerge(
  ctx: RecordContext,
  west: readonly PersonWithRecords[],
  byId: ReadonlyMap<string, DemoInstitution>,
): void {
  let survivor: SourceRecord | undefined;
  let retired: SourceRecord | undefined;
  let owner: TruthPerson | undefined;
  for (const { person, records } of west) {
    for (let i = 0; i < records.length && survivor === undefined; i++)
      for (let j = i + 1; j < records.length; j++)
        if (records[i].institutionId === records[j].institutionId && byId.has(records[i].institutionId)) {
          [survivor, retired, owner] = [records[i], records[j], person];
          break;
        }
    if (survivor !== undefined) break;
  }
  if (survivor === undefined || retired === undefined || owner === undefined) {
    // No duplicate in this population: register one (a second MRN at the same hospital) and merge it.
    const candidate = west.find((p) => !p.person.placeholder && p.records.length > 0)!;
    owner = candidate.person;
    survivor = candidate.records[0];
    const mrn = `9${survivor.mrn.slice(1)}`;
    retired = { ...survivor, recordId: `${survivor.institutionId}:${mrn}`, mrn, corruptions: [] };
    const site = ctx.sites.get(retired.institutionId)!;
    const dup = retired;
    const at = Math.max(...survivor.encounters.map((e) => Date.parse(e.discharge))) + 86_400_000;
    ctx.push(at, {
      institution: site.inst.id,
      charset: site.inst.charset,
      expectedAck: site.enhanced ? 'CA' : 'AA',
      personId: owner.personId,
      localId: dup.mrn,
      sendingFacility: site.inst.sendingFacilities[0],
      messageType: 'ADT^A04',
      note: 'duplicate registration (merged by the A40 below)',
      build: (id) =>
        adt(site, site.inst.sendingFacilities[0], id, 'A04', at, (b) => {
          pid(b, site, dup, dup.demographics);
          b.segment('PV1', ['1', 'O']);
        }),
    });
  }
  const site = ctx.sites.get(survivor.institutionId)!;
  const keep = survivor;
  const gone = retired;
  const at =
    Math.max(...[keep, gone].flatMap((r) => r.encounters.map((e) => Date.parse(e.discharge)))) +
    3 * 86_400_000;
  ctx.push(at, {
    institution: site.inst.id,
    charset: site.inst.charset,
    expectedAck: site.enhanced ? 'CA' : 'AA',
    personId: owner.personId,
    localId: keep.mrn,
    sendingFacility: site.inst.sendingFacilities[0],
    messageType: 'ADT^A40',
    note: `merge ${gone.mrn} into ${keep.mrn}`,
    build: (id) =>
      adt(
        site,
        site.inst.sendingFacilities[0],
        id,
        'A40',
        at,
        (b) => {
          pid(b, site, keep, keep.demographics);
          // MRG-1 prior patient identifier list (Ch. 3 §3.4.9)
          b.segment('MRG', [[gone.mrn, '', '', [site.inst.assigningAuthority], 'MR']]);
        },
        'ADT_A39',
      ),
  });
}

/** Two messages the gateway must refuse: no PID-3 (AE, table 0357 code 101) and an unknown facility (AR). */
function addBadMessages(
  ctx: RecordContext,
  west: readonly PersonWithRecords[],
  byId: ReadonlyMap<string, DemoInstitution>,
  cnHospital: DemoInstitution | undefined,
): void {
  const original =
    [...ctx.sites.values()].find((s) => !s.enhanced && s.inst !== cnHospital) ?? [...ctx.sites.values()][0];
  const source = west.find((p) => p.records.some((r) => byId.has(r.institutionId)))!;
  const record = source.records[0];
  const encounter = record.encounters[0];
  const at = Date.parse(encounter.admit) + 3_600_000;
  const facility = original.inst.sendingFacilities[0];
  const noIdRecord: SourceRecord = { ...record, mrn: '' };
  ctx.push(at, {
    institution: original.inst.id,
    charset: original.inst.charset,
    expectedAck: 'AE',
    expectedErrorCode: '101',
    sendingFacility: facility,
    messageType: 'ADT^A04',
    note: 'bad: PID-3 (patient identifier list) is empty',
    build: (id) =>
      adt(original, facility, id, 'A04', at, (b) => {
        pid(b, original, noIdRecord, record.demographics);
        pv1(b, original, encounter, false);
      }),
  });

  const unknown: Site = {
    inst: {
      ...original.inst,
      id: 'unknown',
      name: 'Unregistered clinic',
      sendingFacilities: ['LAKESHORE-URGENT'],
      charset: 'UNICODE UTF-8',
      assigningAuthority: 'LSU',
    },
    app: 'LSU_EMR',
    country: 'USA',
    enhanced: false,
  };
  ctx.push(at, {
    institution: 'unknown',
    charset: 'UNICODE UTF-8',
    expectedAck: 'AR',
    sendingFacility: 'LAKESHORE-URGENT',
    messageType: 'ADT^A04',
    note: 'bad: MSH-4 sending facility is not a registered institution',
    build: (id) =>
      adt(unknown, 'LAKESHORE-URGENT', id, 'A04', at, (b) => {
        pid(b, unknown, { ...record, mrn: `U${record.mrn}` }, record.demographics);
        pv1(b, unknown, encounter, false);
      }),
  });
}

// ---------------------------------------------------------------------------------------------
// Segments.

interface PinyinName {
  readonly family: string;
  readonly given: string;
}

/**
 * Pinyin of a Hanzi record's name, from the person's true pinyin: only when the record's name is
 * the true one up to homophones (which share the pinyin), i.e. not swapped or missing.
 */
function pinyinOf(person: TruthPerson, record: SourceRecord): PinyinName | undefined {
  const d = person.demographics;
  if (
    record.demographics.nameScript !== 'hanzi' ||
    d.familyPinyin === undefined ||
    d.givenPinyin === undefined
  )
    return undefined;
  if (record.corruptions.some((c) => c === 'swapped-names' || c === 'missing-given')) return undefined;
  return { family: cap(d.familyPinyin), given: cap(d.givenPinyin) };
}

function header(
  site: Site,
  facility: string,
  controlId: string,
  at: number,
  code: string,
  event: string,
  structure: string,
): Hl7MessageBuilder {
  return new Hl7MessageBuilder().msh({
    sendingApplication: site.app,
    sendingFacility: facility,
    receivingApplication: RECEIVING_APPLICATION,
    receivingFacility: RECEIVING_FACILITY,
    dateTime: formatDtm(new Date(at)),
    messageCode: code,
    triggerEvent: event,
    messageStructure: structure,
    controlId,
    processingId: 'P',
    version: '2.5.1',
    // Ch. 2 §2.9.3: MSH-15 AL asks for a commit ACK (CA) once stored; MSH-16 NE: no application ACK.
    ...(site.enhanced ? { acceptAckType: 'AL', applicationAckType: 'NE' } : {}),
    countryCode: site.country,
    characterSet: site.inst.charset,
  });
}

/** ADT message structure per trigger (HL7 v2.5.1 table 0354). */
const ADT_STRUCTURE: Readonly<Record<string, string>> = {
  A01: 'ADT_A01',
  A04: 'ADT_A01',
  A08: 'ADT_A01',
  A03: 'ADT_A03',
  A40: 'ADT_A39',
};

function adt(
  site: Site,
  facility: string,
  controlId: string,
  event: string,
  at: number,
  body: (b: Hl7MessageBuilder) => void,
  structure?: string,
): string {
  const b = header(
    site,
    facility,
    controlId,
    at,
    'ADT',
    event,
    structure ?? ADT_STRUCTURE[event] ?? 'ADT_A01',
  );
  b.segment('EVN', [event, formatDtm(new Date(at))]);
  body(b);
  return b.toString();
}

function dtm(iso: string): string {
  return formatDtm(new Date(iso));
}

function hl7Date(isoDate: string | undefined): string | undefined {
  return isoDate === undefined ? undefined : isoDate.replace(/-/g, '');
}

/** ISO 8859-1 cannot carry every Latin letter a name list may hold: fold the rest to their base letter. */
function fitCharset(text: string | undefined, charset: string): string | undefined {
  if (text === undefined || !/8859\/1$/.test(charset)) return text;
  return Array.from(text)
    .map((ch) => (ch.charCodeAt(0) <= 0xff ? ch : ch.normalize('NFD').replace(/[\u0300-\u036f]/g, '')))
    .map((ch) => (ch.charCodeAt(0) <= 0xff ? ch : '?'))
    .join('');
}

/** PID (Ch. 3 §3.4.2): identifiers, name(s), birth date, sex, address, phone. */
function pid(
  b: Hl7MessageBuilder,
  site: Site,
  record: SourceRecord,
  d: SourceRecord['demographics'],
  pinyin?: PinyinName,
): void {
  const cs = site.inst.charset;
  const fit = (s: string | undefined): string => fitCharset(s, cs) ?? '';
  const ids: Hl7RepetitionValue[] = [];
  if (record.mrn !== '') ids.push([record.mrn, '', '', [site.inst.assigningAuthority], 'MR']);
  // Table 0203: SS social security number (US, synthetic 9xx), NI national unique individual id for
  // a CN resident identity number (GB 11643: 17 digits + check digit or X), whichever hospital sends it.
  if (record.mrn !== '' && d.nationalId !== undefined) {
    const cnResidentId = /^\d{17}[\dX]$/.test(d.nationalId);
    ids.push([d.nationalId, '', '', [cnResidentId ? 'CHN' : 'SSA'], cnResidentId ? 'NI' : 'SS']);
  }
  const names: Hl7RepetitionValue[] = [
    // XPN-7 name type L (legal); XPN-8 name representation (table 4000): I ideographic, A alphabetic.
    [fit(d.family), fit(d.given), fit(d.middle), '', '', '', 'L', d.nameScript === 'hanzi' ? 'I' : 'A'],
  ];
  // A Hanzi record also carries the pinyin spelling as a second repetition, XPN-8 P (phonetic).
  if (pinyin !== undefined) names.push([pinyin.family, pinyin.given, '', '', '', '', 'L', 'P']);
  const address =
    d.address === undefined
      ? undefined
      : [fit(d.address.line), '', fit(d.address.city), '', d.address.postalCode, d.address.country, 'H'];
  b.segment('PID', [
    '1',
    undefined,
    ids.length === 0 ? undefined : repeat(...ids),
    undefined,
    names.length === 1 ? names[0] : repeat(...names),
    undefined,
    hl7Date(d.birthDate),
    d.sex,
    undefined,
    undefined,
    address,
    undefined,
    d.phone === undefined ? undefined : [d.phone, 'PRN', 'PH'],
  ]);
}

/** PD1 (Ch. 3 §3.4.10): primary facility and primary care provider. */
function pd1(b: Hl7MessageBuilder, site: Site, encounter: Encounter): void {
  const doc = encounter.attending;
  b.segment('PD1', [
    undefined,
    undefined,
    [fitCharset(site.inst.name, site.inst.charset) ?? ''],
    [doc.id, fitCharset(doc.family, site.inst.charset) ?? '', fitCharset(doc.given, site.inst.charset) ?? ''],
  ]);
}

/** NK1 (Ch. 3 §3.4.5) for minors: an adult of the same household as mother/father (table 0063). */
function nk1(b: Hl7MessageBuilder, ctx: RecordContext, person: TruthPerson, record: SourceRecord): void {
  const birth = record.demographics.birthDate ?? person.demographics.birthDate;
  const age = (Date.parse('2025-01-01') - Date.parse(birth)) / (365.25 * 86_400_000);
  if (person.placeholder || age >= 18) return;
  const adult = (ctx.households.get(person.householdId) ?? []).find(
    (m) =>
      m.personId !== person.personId &&
      (Date.parse('2025-01-01') - Date.parse(m.demographics.birthDate)) / (365.25 * 86_400_000) >= 18,
  );
  if (adult === undefined) return;
  const d = adult.demographics;
  const script = record.demographics.nameScript;
  const upper =
    record.demographics.family !== undefined &&
    record.demographics.family === record.demographics.family.toUpperCase();
  const style = (s: string | undefined): string => {
    const v = s ?? '';
    return upper ? v.toUpperCase() : v;
  };
  const family =
    script === 'pinyin' ? style(cap(d.familyPinyin)) : script === 'hanzi' ? d.family : style(d.family);
  const given =
    script === 'pinyin' ? style(cap(d.givenPinyin)) : script === 'hanzi' ? d.given : style(d.given);
  const relation = d.sex === 'F' ? ['MTH', 'Mother', 'HL70063'] : ['FTH', 'Father', 'HL70063'];
  const cs = ctxCharset(ctx, record);
  b.segment('NK1', [
    '1',
    [fitCharset(family, cs) ?? '', fitCharset(given, cs) ?? ''],
    relation,
    undefined,
    [d.phone, 'PRN', 'PH'],
  ]);
}

function ctxCharset(ctx: RecordContext, record: SourceRecord): string {
  return ctx.sites.get(record.institutionId)?.inst.charset ?? 'UNICODE UTF-8';
}

function cap(s: string | undefined): string {
  return s === undefined || s === '' ? '' : s[0].toUpperCase() + s.slice(1);
}

/** PV1 (Ch. 3 §3.4.3): class, location, attending, visit number, admit / discharge times. */
function pv1(b: Hl7MessageBuilder, site: Site, encounter: Encounter, discharged: boolean): void {
  const doc = encounter.attending;
  const cs = site.inst.charset;
  const fields: Hl7FieldValue[] = [
    '1',
    PATIENT_CLASS[encounter.class],
    [
      encounter.location.pointOfCare,
      encounter.location.room,
      encounter.location.bed,
      [site.inst.sendingFacilities[0]],
    ],
    undefined,
    undefined,
    undefined,
    [doc.id, fitCharset(doc.family, cs) ?? '', fitCharset(doc.given, cs) ?? '', '', '', 'Dr'],
    undefined,
    undefined,
    encounter.class === 'IMP' ? 'MED' : encounter.class === 'EMER' ? 'EME' : 'OUT',
  ];
  while (fields.length < 18) fields.push(undefined);
  fields.push([encounter.visitNumber, '', '', [site.inst.assigningAuthority], 'VN']); // PV1-19
  while (fields.length < 43) fields.push(undefined);
  fields.push(dtm(encounter.admit)); // PV1-44
  if (discharged) fields.push(dtm(encounter.discharge)); // PV1-45
  b.segment('PV1', fields);
}

/** OBX-8 abnormal flag (table 0078) from the reference range "low-high". */
function abnormalFlag(result: LabResult): string {
  const [low, high] = result.referenceRange.split('-').map(Number);
  if (result.value < low) return 'L';
  if (result.value > high) return 'H';
  return 'N';
}

/** ORU^R01 (Ch. 7 §7.3.1): PID, PV1, ORC, OBR (panel), OBX NM per result with UCUM units, range and flag. */
function oru(
  site: Site,
  facility: string,
  controlId: string,
  at: number,
  record: SourceRecord,
  encounter: Encounter,
  results: readonly LabResult[],
  pinyin?: PinyinName,
): string {
  const b = header(site, facility, controlId, at, 'ORU', 'R01', 'ORU_R01');
  pid(b, site, record, record.demographics, pinyin);
  pv1(b, site, encounter, false);
  const order = `${encounter.visitNumber}-L`;
  const observed = dtm(results[0].effective);
  b.segment('ORC', ['RE', [order, site.app], [order, 'LAB']]);
  b.segment('OBR', [
    '1',
    [order, site.app],
    [order, 'LAB'],
    ['24323-8', 'Comprehensive metabolic 2000 panel - Serum or Plasma', 'LN'],
    undefined,
    undefined,
    observed,
    ...Array<undefined>(14).fill(undefined),
    formatDtm(new Date(at)), // OBR-22 results report/status change
    undefined,
    'CH', // OBR-24 diagnostic service section (table 0074)
    'F', // OBR-25 result status final
  ]);
  results.forEach((r, i) => {
    b.segment('OBX', [
      String(i + 1),
      'NM',
      [r.code, r.display, 'LN'],
      undefined,
      String(r.value),
      [r.unit, r.unit, 'UCUM'],
      r.referenceRange,
      abnormalFlag(r),
      undefined,
      undefined,
      'F',
      undefined,
      undefined,
      dtm(r.effective),
    ]);
  });
  return b.toString();
}

/** A tiny synthetic PDF (text only) for the one OBX ED document. */
function syntheticPdf(document: ClinicalDocument): string {
  const body = `%PDF-1.4\n% synthetic document ${document.documentId}\n1 0 obj << /Type /Catalog >> endobj\n% ${document.typeDisplay}\ntrailer << /Root 1 0 R >>\n%%EOF\n`;
  return Buffer.from(body, 'latin1').toString('base64');
}

/** MDM^T02 (Ch. 9 §9.6.2): TXA document header and the content as OBX TX lines, or one OBX ED (base64). */
function mdm(
  site: Site,
  facility: string,
  controlId: string,
  at: number,
  record: SourceRecord,
  encounter: Encounter,
  document: ClinicalDocument,
  ed: boolean,
  pinyin?: PinyinName,
): string {
  const b = header(site, facility, controlId, at, 'MDM', 'T02', 'MDM_T02');
  b.segment('EVN', ['T02', formatDtm(new Date(at))]);
  pid(b, site, record, record.demographics, pinyin);
  pv1(b, site, encounter, encounter.class !== 'AMB');
  const doc = encounter.attending;
  const cs = site.inst.charset;
  b.segment('TXA', [
    '1',
    document.typeCode, // TXA-2 document type
    ed ? 'AP' : 'TX', // TXA-3 content presentation (table 0191): AP other application data, TX text
    dtm(document.date), // TXA-4 activity date/time
    undefined,
    undefined,
    undefined,
    undefined,
    [doc.id, fitCharset(doc.family, cs) ?? '', fitCharset(doc.given, cs) ?? ''], // TXA-9 originator
    undefined,
    undefined,
    [document.documentId, site.app], // TXA-12 unique document number
    undefined,
    undefined,
    undefined,
    undefined,
    'AU', // TXA-17 completion status (table 0271): authenticated
  ]);
  const code = [document.typeCode, document.typeDisplay, 'LN'];
  if (ed) {
    // ED: source application ^ type of data (table 0191: AP) ^ data subtype (table 0291: PDF) ^ encoding ^ data (Ch. 2A §2.A.24)
    b.segment('OBX', [
      '1',
      'ED',
      code,
      undefined,
      ['', 'AP', 'PDF', 'Base64', syntheticPdf(document)],
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      'F',
    ]);
  } else {
    const lines = document.text.split(/(?<=\.)\s+/);
    lines.forEach((line, i) =>
      b.segment('OBX', [
        String(i + 1),
        'TX',
        code,
        undefined,
        line,
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
        'F',
      ]),
    );
  }
  return b.toString();
}

function bumpLastDigit(phone: string): string {
  const m = /(\d)(\D*)$/.exec(phone);
  if (m === null) return phone;
  const digit = (Number(m[1]) + 1) % 10;
  return `${phone.slice(0, m.index)}${digit}${m[2]}`;
}
