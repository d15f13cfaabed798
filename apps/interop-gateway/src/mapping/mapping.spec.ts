import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  DocumentPublished,
  EncounterUpserted,
  ObservationReported,
  PatientMerged,
  PatientUpserted,
  validateEventData,
} from '@tessera/contracts';
import { MAPPER_VERSION } from '@tessera/v2-fhir';
import type { Institution } from '../institutions/institution';
import { institutionSchema } from '../institutions/institution';
import { patientKey } from './canonical-events';
import { mappingContextFor } from './mapping-context.factory';
import { decideMapping, describeMappingErrors } from './mapping-outcome.policy';

const TEST_DATA = path.resolve(__dirname, '../../../../libs/v2-fhir/test-data');
const golden = (name: string) => readFileSync(path.join(TEST_DATA, `${name}.hl7`), 'utf8');

const hospA: Institution = institutionSchema.parse({
  id: 'hosp-a',
  name: 'Synthetic Hospital A',
  sendingFacilities: ['HOSPA'],
  assigningAuthorities: [
    { namespace: 'HOSPA', system: 'https://hosp-a.example/fhir/sid/mrn', default: true },
    { namespace: 'CN-RIC', system: 'urn:oid:2.16.156.10011.1.1' },
  ],
  feed: {},
});

describe('mappingContextFor', () => {
  it('keys every assigning authority by namespace and urn:oid systems by their bare OID (CX-4.2)', () => {
    const context = mappingContextFor(hospA);
    expect(context).toEqual({
      institutionId: 'hosp-a',
      patientIdentifierSystems: {
        HOSPA: 'https://hosp-a.example/fhir/sid/mrn',
        'CN-RIC': 'urn:oid:2.16.156.10011.1.1',
        '2.16.156.10011.1.1': 'urn:oid:2.16.156.10011.1.1',
      },
      defaultPatientSystem: 'https://hosp-a.example/fhir/sid/mrn',
    });
  });

  it('uses the default authority for identifiers without CX-4, else the first one', () => {
    const noDefault = institutionSchema.parse({
      ...hospA,
      assigningAuthorities: [
        { namespace: 'A', system: 'urn:oid:1.2.3' },
        { namespace: 'B', system: 'urn:oid:1.2.4', default: false },
      ],
    });
    expect(mappingContextFor(noDefault).defaultPatientSystem).toBe('urn:oid:1.2.3');
    const withDefault = institutionSchema.parse({
      ...hospA,
      assigningAuthorities: [
        { namespace: 'A', system: 'urn:oid:1.2.3' },
        { namespace: 'B', system: 'urn:oid:1.2.4', default: true },
      ],
    });
    expect(mappingContextFor(withDefault).defaultPatientSystem).toBe('urn:oid:1.2.4');
  });
});

describe('decideMapping', () => {
  const stored = (text: string) => ({
    ledgerId: '00000000-0000-4000-8000-000000000001',
    institutionId: 'hosp-a',
    text,
  });

  it('maps ADT^A01 to PatientUpserted then EncounterUpserted that pass their event schemas', () => {
    const decision = decideMapping(stored(golden('ADT_A01')), hospA);
    if (decision.status !== 'mapped') throw new Error(decision.detail);
    expect(decision.mapperVersion).toBe(MAPPER_VERSION);
    expect(decision.events.map((e) => e.kind)).toEqual(['patient-upserted', 'encounter-upserted']);
    const [patient, encounter] = decision.events;
    const patientData = validateEventData(PatientUpserted, patient.data);
    expect(patientData).toMatchObject({
      institutionId: 'hosp-a',
      patientSystem: 'https://hosp-a.example/fhir/sid/mrn',
      localPatientId: 'MRN-100231',
      sourceMessageId: '00000000-0000-4000-8000-000000000001',
      channel: 'hl7v2',
    });
    expect(validateEventData(EncounterUpserted, encounter.data).encounter.subject?.reference).toBe(
      `Patient/${patientData.patient.id}`,
    );
    expect(patientKey(patientData.institutionId, patientData.localPatientId)).toBe('hosp-a|MRN-100231');
  });

  it('maps ORU^R01 to one ObservationReported carrying every report and observation', () => {
    const decision = decideMapping(stored(golden('ORU_R01')), hospA);
    if (decision.status !== 'mapped') throw new Error(decision.detail);
    const results = decision.events.find((e) => e.kind === 'observation-reported');
    const data = validateEventData(ObservationReported, results!.data);
    expect(data.reports.length).toBeGreaterThanOrEqual(1);
    expect(data.observations.length).toBeGreaterThanOrEqual(3);
  });

  it('maps MDM^T02 to DocumentPublished with the content bytes and A40 to PatientMerged', () => {
    const mdm = decideMapping(stored(golden('MDM_T02_ed')), hospA);
    if (mdm.status !== 'mapped') throw new Error(mdm.detail);
    const document = validateEventData(
      DocumentPublished,
      mdm.events.find((e) => e.kind === 'document-published')!.data,
    );
    expect(Buffer.from(document.content.base64, 'base64').length).toBe(document.content.size);

    const merge = decideMapping(stored(golden('ADT_A40')), hospA);
    if (merge.status !== 'mapped') throw new Error(merge.detail);
    expect(merge.events.map((e) => e.kind)).toEqual(['patient-merged']);
    const merged = validateEventData(PatientMerged, merge.events[0].data);
    expect(merged.priorLocalPatientId).not.toBe(merged.localPatientId);
    expect(merged.priorPatient.active).toBe(false);
  });

  it('fails deterministically, without field values, when required data is missing', () => {
    const text = golden('ADT_A01').replace(/PID\|1\|\|[^|]*\|/, 'PID|1|||');
    const decision = decideMapping(stored(text), hospA);
    expect(decision.status).toBe('failed');
    expect(decision.detail).toContain('101 at PID-3');
    expect(decision.detail).not.toContain('Xiaoming');
  });

  it('fails for unsupported types, unparseable text and unregistered institutions', () => {
    const unsupported = decideMapping(stored(golden('ADT_A01').replace('ADT^A01^ADT_A01', 'SIU^S12')), hospA);
    expect(unsupported).toMatchObject({
      status: 'failed',
      detail: expect.stringContaining('200 at MSH-9.1'),
    });
    expect(decideMapping(stored('not hl7 at all'), hospA)).toMatchObject({
      status: 'failed',
      detail: expect.stringContaining('cannot be parsed'),
    });
    expect(decideMapping(stored(golden('ADT_A01')), undefined)).toMatchObject({
      status: 'failed',
      detail: expect.stringContaining('hosp-a is not registered'),
    });
  });

  it('describes errors with table 0357 codes and ERL locations', () => {
    const decision = decideMapping(stored(golden('ADT_A01').replace('ADT^A01^ADT_A01', 'ADT^Z99')), hospA);
    expect(decision.status).toBe('failed');
    expect(describeMappingErrors([])).toBe('');
    expect(decision.detail).toMatch(/^Not mapped \(mapper [\d.]+\): 201 at MSH-9\.2: /);
  });
});

describe('canonical events', () => {
  it('emits no results event for a message without reports or observations', () => {
    const decision = decideMapping(
      { ledgerId: 'l1', institutionId: 'hosp-a', text: golden('ADT_A28') },
      hospA,
    );
    if (decision.status !== 'mapped') throw new Error(decision.detail);
    expect(decision.events.map((e) => e.kind)).toEqual(['patient-upserted']);
  });
});
