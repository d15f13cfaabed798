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
import { identifierSystemsOfOthers } from './identifier-ownership.policy';
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

describe('sender authentication on canonical events', () => {
  const stored = (name: string, senderAuthentication?: 'tls-client-certificate') => ({
    ledgerId: '00000000-0000-4000-8000-000000000002',
    institutionId: 'hosp-a',
    text: golden(name),
    ...(senderAuthentication === undefined ? {} : { senderAuthentication }),
  });

  it('copies it onto every event the mapper derives: patient, encounter, results, document, merge', () => {
    const kinds = new Set<string>();
    for (const name of ['ADT_A01', 'ORU_R01', 'MDM_T02_ed', 'ADT_A40']) {
      const decision = decideMapping(stored(name, 'tls-client-certificate'), hospA);
      if (decision.status !== 'mapped') throw new Error(decision.detail);
      for (const event of decision.events) {
        kinds.add(event.kind);
        expect({ name, kind: event.kind, senderAuthentication: event.data.senderAuthentication }).toEqual({
          name,
          kind: event.kind,
          senderAuthentication: 'tls-client-certificate',
        });
      }
      const definitions = {
        'patient-upserted': PatientUpserted,
        'patient-merged': PatientMerged,
        'encounter-upserted': EncounterUpserted,
        'observation-reported': ObservationReported,
        'document-published': DocumentPublished,
      } as const;
      for (const event of decision.events) {
        expect(
          (
            validateEventData(definitions[event.kind] as typeof PatientUpserted, event.data) as {
              senderAuthentication?: string;
            }
          ).senderAuthentication,
        ).toBe('tls-client-certificate');
      }
    }
    expect([...kinds].sort()).toEqual([
      'document-published',
      'encounter-upserted',
      'observation-reported',
      'patient-merged',
      'patient-upserted',
    ]);
  });

  it('leaves it out when the message has none recorded (older messages count as unauthenticated)', () => {
    const decision = decideMapping(stored('ADT_A01'), hospA);
    if (decision.status !== 'mapped') throw new Error(decision.detail);
    expect(decision.events.every((e) => !('senderAuthentication' in e.data))).toBe(true);
  });
});

describe("assigning authorities are the sender's own", () => {
  // Another institution of the region, whose namespace and OID a message of hosp-a names.
  const hospB = institutionSchema.parse({
    id: 'hosp-b',
    name: 'Synthetic Hospital B',
    sendingFacilities: ['HOSPB'],
    assigningAuthorities: [
      { namespace: 'HOSPB', system: 'urn:oid:2.16.840.1.113883.3.9999.8.1', default: true },
    ],
    feed: {},
  });

  const others = identifierSystemsOfOthers(hospA, [hospA, hospB]);
  const pid3 = (authority: string) =>
    golden('ADT_A01').replace(/PID\|1\|\|[^|]*\|/, `PID|1||MRN-B-1^^^${authority}^MR|`);

  it('knows which systems only other institutions registered', () => {
    expect([...others]).toEqual([hospB.assigningAuthorities[0].system]);
    // A system both registered (a regional resident id) is not another's.
    const shared = {
      ...hospB,
      assigningAuthorities: [...hospB.assigningAuthorities, hospA.assigningAuthorities[1]],
    };
    expect([...identifierSystemsOfOthers(hospA, [hospA, shared])]).toEqual([
      hospB.assigningAuthorities[0].system,
    ]);
  });

  it("never maps another institution's PID-3.4 namespace to that institution's system", () => {
    expect(Object.values(mappingContextFor(hospA).patientIdentifierSystems)).not.toContain(
      hospB.assigningAuthorities[0].system,
    );
    for (const authority of ['HOSPB', 'HOSPB&&']) {
      const decision = decideMapping(
        { ledgerId: 'l-b', institutionId: 'hosp-a', text: pid3(authority) },
        hospA,
        others,
      );
      if (decision.status !== 'mapped') throw new Error(decision.detail);
      const patient = decision.events[0];
      const identifiers =
        (patient.data as { patient: { identifier?: Array<{ system?: string }> } }).patient.identifier ?? [];
      expect({ authority, systems: identifiers.map((i) => i.system) }).toEqual({
        authority,
        systems: expect.not.arrayContaining([hospB.assigningAuthorities[0].system]),
      });
      expect(patient.data.patientSystem).not.toBe(hospB.assigningAuthorities[0].system);
      expect(patient.data.patientSystem).toMatch(/^urn:tessera:aa:hosp-a:/);
      expect(patient.data.institutionId).toBe('hosp-a');
    }
  });

  it("refuses (103 at PID-3.4) an identifier whose ISO OID is another institution's registered system", () => {
    for (const authority of ['HOSPB&2.16.840.1.113883.3.9999.8.1&ISO', '&2.16.840.1.113883.3.9999.8.1&ISO']) {
      const decision = decideMapping(
        { ledgerId: 'l-b', institutionId: 'hosp-a', text: pid3(authority) },
        hospA,
        others,
      );
      expect({ authority, decision }).toEqual({
        authority,
        decision: expect.objectContaining({
          status: 'failed',
          detail: expect.stringContaining('103 at PID-3.4'),
        }),
      });
    }
    // Without the other institution registered, the OID is what was sent (urn:oid:).
    const alone = decideMapping(
      { ledgerId: 'l-b', institutionId: 'hosp-a', text: pid3('&2.16.840.1.113883.3.9999.8.1&ISO') },
      hospA,
    );
    expect(alone.status).toBe('mapped');
  });

  it("refuses an A40 whose prior identifier (MRG-1) is in another institution's system", () => {
    const text = golden('ADT_A40').replace(
      /MRG\|([^^|]*)\^\^\^[^^|]*/,
      'MRG|$1^^^&2.16.840.1.113883.3.9999.8.1&ISO',
    );
    const decision = decideMapping({ ledgerId: 'l-m', institutionId: 'hosp-a', text }, hospA, others);
    expect(decision).toMatchObject({ status: 'failed', detail: expect.stringContaining('103 at MRG-1.4') });
  });
});
