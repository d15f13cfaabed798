import type { Observation } from '@medplum/fhirtypes';
import { parseHl7 } from '@tessera/hl7v2';
import { MappingError } from './mapping.error';
import type { MappingOutcome, MappingResult } from './mapping.types';
import { MAPPER_VERSION } from './mapping.types';
import { mapHl7Message } from './message.mapper';
import { HOSP_A_CONTEXT } from './testing/mapping-contexts.fixture';

const MSH = (type: string, extra = ''): string =>
  `MSH|^~\\&|HIS|HOSPA|TESSERA|REGION|20240501083000+0800||${type}|CTRL-1|P|2.5.1${extra}`;
const PID = 'PID|1||MRN-1^^^HOSPA^MR||Testperson^Alex^^^^^L||19800101|F';
const PV1 = (cls: string, extra = ''): string =>
  `PV1|1|${cls}|WARD^1^1^HOSPA||||||||||||||||V-1^^^HOSPA^VN${extra}`;

function map(...segments: string[]): MappingOutcome {
  return mapHl7Message(parseHl7(segments.join('\r')), HOSP_A_CONTEXT);
}

function mapped(...segments: string[]): MappingResult {
  const outcome = map(...segments);
  if (outcome.status !== 'mapped')
    throw new Error(`expected mapped, got ${outcome.status}: ${JSON.stringify(outcome)}`);
  return outcome.result;
}

function obx(type: string, value: string, units = '', range = '', flags = '', status = 'F'): string {
  return `OBX|1|${type}|CODE-1^Test^LN||${value}|${units}|${range}|${flags}|||${status}`;
}

function observationOf(obxSegment: string): Observation {
  const result = mapped(
    MSH('ORU^R01^ORU_R01'),
    PID,
    'OBR|1||F-1^LIS|CODE-P^Panel^LN|||20240501080000+0800||||||||||||||||F',
    obxSegment,
  );
  return result.observations[0];
}

describe('mapHl7Message: message types', () => {
  it('answers unsupported message types with 0357 code 200 and unsupported triggers with 201', () => {
    const type = map(MSH('SIU^S12'), PID);
    expect(type.status).toBe('unsupported');
    expect(type.status === 'unsupported' && type.error.hl7ErrorCode).toBe('200');
    const trigger = map(MSH('ADT^A99'), PID);
    expect(trigger.status === 'unsupported' && trigger.error.hl7ErrorCode).toBe('201');
    expect(trigger.status === 'unsupported' && trigger.error.where).toBe('MSH-9.2');
  });

  it('refuses messages with more than one patient', () => {
    const outcome = map(MSH('ORU^R01'), PID, PID.replace('MRN-1', 'MRN-2'));
    expect(outcome.status === 'unsupported' && outcome.error.hl7ErrorCode).toBe('200');
  });

  it('refuses a pinned mapper version that is not installed', () => {
    const outcome = mapHl7Message(parseHl7([MSH('ADT^A28'), PID].join('\r')), {
      ...HOSP_A_CONTEXT,
      mapperVersion: '0.9.0',
    });
    expect(outcome.status === 'unsupported' && outcome.error.hl7ErrorCode).toBe('207');
    expect(mapped(MSH('ADT^A28'), PID).mapperVersion).toBe(MAPPER_VERSION);
  });

  it('A28/A31 map the patient only, even with a PV1', () => {
    const result = mapped(MSH('ADT^A31'), PID, PV1('N'));
    expect(result.encounter).toBeUndefined();
    expect(result.patient.gender).toBe('female');
  });
});

describe('mapHl7Message: required data (0357 code 101)', () => {
  it('PID-3 missing -> MappingError 101 at PID-3, no PHI in the message', () => {
    const outcome = map(MSH('ADT^A01'), 'PID|1||||Testperson^Alex', PV1('I'));
    expect(outcome.status).toBe('invalid');
    if (outcome.status !== 'invalid') return;
    const [error] = outcome.errors;
    expect(error).toBeInstanceOf(MappingError);
    expect(error.hl7ErrorCode).toBe('101');
    expect(error.location).toEqual({ segment: 'PID', sequence: 1, field: 3 });
    expect(error.message).not.toContain('Testperson');
  });

  it('PV1-2 missing in an encounter trigger -> 101 at PV1-2', () => {
    const outcome = map(MSH('ADT^A01'), PID, PV1(''));
    expect(outcome.status === 'invalid' && outcome.errors.map((e) => e.where)).toEqual(['PV1-2']);
  });

  it('T10 without TXA-13 -> 101 at TXA-13; bad Base64 -> 102 at OBX-5.5', () => {
    const txa = 'TXA|1|DS^Discharge summary^HL70270|AP|||20240503160000+0800||||||DOC-9^HIS|||||AU||AV';
    const ed = 'OBX|1|ED|18842-5^Discharge summary^LN||HIS^AP^PDF^Base64^JVBERi0x||||||F';
    const t10 = map(MSH('MDM^T10'), PID, PV1('I'), txa, ed);
    expect(t10.status === 'invalid' && t10.errors.map((e) => [e.hl7ErrorCode, e.where])).toEqual([
      ['101', 'TXA-13'],
    ]);
    const bad = map(MSH('MDM^T02'), PID, PV1('I'), txa, ed.replace('JVBERi0x', 'not*base64'));
    expect(bad.status === 'invalid' && bad.errors.map((e) => [e.hl7ErrorCode, e.where])).toEqual([
      ['102', 'OBX-5.5'],
    ]);
  });

  it('OBR-25 Y (no order on record) is an error per the IG', () => {
    const outcome = map(MSH('ORU^R01'), PID, 'OBR|1||F-1^LIS|CODE-P^Panel^LN|||||||||||||||||||||Y');
    expect(outcome.status === 'invalid' && outcome.errors[0].hl7ErrorCode).toBe('103');
  });
});

describe('mapHl7Message: encounters', () => {
  it('A13 cancels the discharge: in-progress and no period.end, with a warning', () => {
    const result = mapped(
      MSH('ADT^A13'),
      PID,
      PV1('I', '|||||||||||||||||||||||||20240501080000+0800|20240503100000+0800'),
    );
    expect(result.encounter?.status).toBe('in-progress');
    expect(result.encounter?.period).toEqual({ start: '2024-05-01T08:00:00+08:00' });
    expect(result.warnings.map((w) => w.code)).toContain('IGNORED_DATA');
  });

  it('A08 takes the status from PV1: PV1-45 valued -> finished, else by patient class', () => {
    const discharged = mapped(
      MSH('ADT^A08'),
      PID,
      PV1('I', '|||||||||||||||||||||||||20240501080000+0800|20240503100000+0800'),
    );
    expect(discharged.encounter?.status).toBe('finished');
    expect(discharged.encounter?.location?.[0]?.status).toBe('completed');
    expect(mapped(MSH('ADT^A08'), PID, PV1('P')).encounter?.status).toBe('planned');
  });

  it('visit numbers give the same Encounter id across events of the visit', () => {
    const a01 = mapped(MSH('ADT^A01'), PID, PV1('I'));
    const a03 = mapped(MSH('ADT^A03'), PID, PV1('I'));
    expect(a01.encounter?.id).toBe(a03.encounter?.id);
    expect(a01.encounter?.id).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('mapHl7Message: identifiers and names', () => {
  it('unknown assigning authority -> urn:tessera:aa:<institution>:<authority> with a warning', () => {
    const result = mapped(MSH('ADT^A28'), 'PID|1||X-9^^^OTHERHOSP^MR||Testperson^Alex');
    expect(result.patientSystem).toBe('urn:tessera:aa:hosp-a:OTHERHOSP');
    expect(result.warnings[0]).toMatchObject({
      code: 'UNKNOWN_ASSIGNING_AUTHORITY',
      location: { segment: 'PID', field: 3, component: 4 },
    });
    expect(JSON.stringify(result.warnings)).not.toContain('X-9');
  });

  it('no assigning authority -> the institution default patient system', () => {
    expect(mapped(MSH('ADT^A28'), 'PID|1||12345||Testperson^Alex').patientSystem).toBe(
      HOSP_A_CONTEXT.defaultPatientSystem,
    );
  });

  it('prefers the MR repetition as local patient id', () => {
    const result = mapped(MSH('ADT^A28'), 'PID|1||N-1^^^CN-RIC^NNCHN~MRN-7^^^HOSPA^MR||Testperson^Alex');
    expect(result.localPatientId).toBe('MRN-7');
    expect(result.patient.identifier).toHaveLength(2);
  });

  it('keeps every name repetition exactly as sent', () => {
    const result = mapped(MSH('ADT^A28'), 'PID|1||MRN-1^^^HOSPA^MR||张^三^^^^^L^I~Zhang^San^^^^^L^P');
    expect(result.patient.name?.map((n) => [n.family, n.given])).toEqual([
      ['张', ['三']],
      ['Zhang', ['San']],
    ]);
  });
});

describe('mapHl7Message: observation values', () => {
  it('NM with UCUM units, range and flags', () => {
    const obs = observationOf(obx('NM', '7.8', 'mmol/L^mmol/L^UCUM', '3.9-6.1', 'H'));
    expect(obs.valueQuantity).toEqual({
      value: 7.8,
      unit: 'mmol/L',
      system: 'http://unitsofmeasure.org',
      code: 'mmol/L',
    });
    expect(obs.referenceRange?.[0]).toMatchObject({
      low: { value: 3.9 },
      high: { value: 6.1 },
      text: '3.9-6.1',
    });
    expect(obs.interpretation?.[0]?.coding?.[0]?.code).toBe('H');
  });

  it('keeps a non-UCUM unit system as sent, and a unit without system as unit text only', () => {
    expect(observationOf(obx('NM', '5', 'mg%^mg per dl^99LAB')).valueQuantity).toEqual({
      value: 5,
      unit: 'mg per dl',
      system: 'urn:tessera:cs:hosp-a:99LAB',
      code: 'mg%',
    });
    expect(observationOf(obx('NM', '5', 'mg/dl')).valueQuantity).toEqual({ value: 5, unit: 'mg/dl' });
  });

  it('NM that is not a number -> valueString with a warning', () => {
    const obs = observationOf(obx('NM', 'see note'));
    expect(obs.valueString).toBe('see note');
  });

  it('SN: comparator -> Quantity.comparator, ":" -> Ratio, "-" -> Range, "<>" -> string', () => {
    expect(observationOf(obx('SN', '>=^10')).valueQuantity).toEqual({ value: 10, comparator: '>=' });
    expect(observationOf(obx('SN', '^1^/^80')).valueRatio).toEqual({
      numerator: { value: 1 },
      denominator: { value: 80 },
    });
    expect(observationOf(obx('SN', '^2^-^5')).valueRange).toEqual({ low: { value: 2 }, high: { value: 5 } });
    expect(observationOf(obx('SN', '<>^3')).valueString).toBe('<> 3');
  });

  it('CWE -> valueCodeableConcept; TX repetitions -> lines', () => {
    expect(observationOf(obx('CWE', '260385009^Negative^SCT')).valueCodeableConcept?.coding?.[0]).toEqual({
      system: 'http://snomed.info/sct',
      code: '260385009',
      display: 'Negative',
    });
    expect(observationOf(obx('TX', 'line one~line two')).valueString).toBe('line one\nline two');
  });

  it('OBX-11 X without value -> cancelled with dataAbsentReason; unknown flag kept locally', () => {
    const obs = observationOf(obx('NM', '', '', '', 'ZZ', 'X'));
    expect(obs.status).toBe('cancelled');
    expect(obs.dataAbsentReason?.coding?.[0]?.code).toBe('error');
    expect(obs.interpretation?.[0]?.coding?.[0]).toEqual({
      system: 'urn:tessera:cs:hosp-a:HL70078',
      code: 'ZZ',
    });
  });
});

describe('mapHl7Message: document type', () => {
  const psychConsult = [
    MSH('MDM^T02^MDM_T02'),
    PID,
    PV1('I'),
    'TXA|1|CN^Consultation^HL70270|TX|||20240503160000+0800||||||DOC-7^HIS|||||AU||AV',
    'OBX|1|TX|34788-0^Psychiatry Consult note^LN||Line one.||||||F',
    'OBX|2|TX|34788-0^Psychiatry Consult note^LN||Line two.||||||F',
  ];

  it('types the DocumentReference with TXA-2 and, as further codings, the distinct OBX-3 codes', () => {
    expect(mapped(...psychConsult).document?.type).toEqual({
      coding: [
        { system: 'http://terminology.hl7.org/CodeSystem/v2-0270', code: 'CN', display: 'Consultation' },
        { system: 'http://loinc.org', code: '34788-0', display: 'Psychiatry Consult note' },
      ],
      text: 'Consultation',
    });
  });

  it('keeps both triplets of OBX-3 and does not repeat a code TXA-2 already carries', () => {
    const segments = [
      ...psychConsult.slice(0, 3),
      'TXA|1|34788-0^Psychiatry Consult note^LN|TX|||20240503160000+0800||||||DOC-7^HIS|||||AU||AV',
      'OBX|1|TX|34788-0^Psychiatry Consult note^LN^PSYC^Psych consult^99DOC||Line one.||||||F',
    ];
    expect(mapped(...segments).document?.type?.coding).toEqual([
      { system: 'http://loinc.org', code: '34788-0', display: 'Psychiatry Consult note' },
      { system: 'urn:tessera:cs:hosp-a:99DOC', code: 'PSYC', display: 'Psych consult' },
    ]);
  });

  it('types the document from OBX-3 alone when TXA-2 is empty, still warning about TXA-2', () => {
    const result = mapped(
      ...psychConsult.slice(0, 3),
      psychConsult[3].replace('CN^Consultation^HL70270', ''),
      psychConsult[4],
    );
    expect(result.document?.type).toEqual({
      coding: [{ system: 'http://loinc.org', code: '34788-0', display: 'Psychiatry Consult note' }],
      text: 'Psychiatry Consult note',
    });
    expect(result.warnings.map((w) => [w.code, w.location?.segment, w.location?.field])).toContainEqual([
      'MISSING_RECOMMENDED_FIELD',
      'TXA',
      2,
    ]);
  });
});

describe('mapHl7Message: time zones', () => {
  it('timestamps without offset use MSH-7, else the configured offset, else date precision + warning', () => {
    const pv1 = PV1('I', '|||||||||||||||||||||||||20240501080000');
    expect(mapped(MSH('ADT^A01'), PID, pv1).encounter?.period?.start).toBe('2024-05-01T08:00:00+08:00');
    const noOffset = 'MSH|^~\\&|HIS|HOSPA|TESSERA|REGION|20240501083000||ADT^A01|C|P|2.5.1';
    const dateOnly = mapped(noOffset, PID, pv1);
    expect(dateOnly.encounter?.period?.start).toBe('2024-05-01');
    expect(dateOnly.warnings.map((w) => w.code)).toContain('TIMEZONE_UNKNOWN');
    const configured = mapHl7Message(parseHl7([noOffset, PID, pv1].join('\r')), {
      ...HOSP_A_CONTEXT,
      defaultUtcOffset: '+0100',
    });
    expect(configured.status === 'mapped' && configured.result.encounter?.period?.start).toBe(
      '2024-05-01T08:00:00+01:00',
    );
  });
});
