import {
  DocumentPublished,
  EncounterUpserted,
  ObservationReported,
  PatientUpserted,
  validateEventData,
} from '@tessera/contracts';
import { deterministicId } from '@tessera/v2-fhir';
import { institutionSchema } from '../institutions/institution';
import { convertBundle, decideFhirBundle, FHIR_INGEST_VERSION } from './fhir-bundle.converter';
import { validateBundle } from './fhir-bundle.schema';
import type { ValidBundle } from './fhir-bundle.schema';
import { formatPath, operationOutcome } from '@tessera/platform-service';

const MRN_SYSTEM = 'urn:oid:2.16.840.1.113883.3.9999.1.1';
const institution = institutionSchema.parse({
  id: 'st-aurelia',
  name: 'St. Aurelia (synthetic)',
  sendingFacilities: ['STAURELIA'],
  assigningAuthorities: [
    { namespace: 'NID', system: 'urn:oid:2.16.840.1.113883.3.9999.9.9' },
    { namespace: 'STA', system: MRN_SYSTEM, default: true },
  ],
  feed: {},
});

const PATIENT_URL = 'urn:uuid:0d0c1e3a-0000-4000-8000-000000000001';
const BINARY_URL = 'urn:uuid:0d0c1e3a-0000-4000-8000-000000000002';
const OBS_URL = 'urn:uuid:0d0c1e3a-0000-4000-8000-000000000003';
const post = (url: string) => ({ method: 'POST', url });

function bundle(overrides: Record<number, Record<string, unknown>> = {}) {
  const entries: Array<{ fullUrl?: string; resource: Record<string, unknown>; request?: unknown }> = [
    {
      fullUrl: PATIENT_URL,
      resource: {
        resourceType: 'Patient',
        identifier: [
          { system: 'urn:oid:2.16.840.1.113883.3.9999.9.9', value: 'N-77' },
          { system: MRN_SYSTEM, value: 'MRN-1' },
        ],
        name: [{ family: 'Syntheticus' }],
      },
      request: post('Patient'),
    },
    {
      resource: {
        resourceType: 'Encounter',
        identifier: [{ system: 'urn:oid:2.16.840.1.113883.3.9999.1.2', value: 'V-1' }],
        status: 'finished',
        class: { code: 'AMB' },
        subject: { reference: PATIENT_URL },
      },
      request: post('Encounter'),
    },
    {
      fullUrl: OBS_URL,
      resource: {
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'Glucose' },
        subject: { reference: PATIENT_URL },
      },
      request: post('Observation'),
    },
    {
      resource: {
        resourceType: 'DiagnosticReport',
        status: 'final',
        code: { text: 'Panel' },
        subject: { reference: PATIENT_URL },
        result: [{ reference: OBS_URL }],
      },
      request: post('DiagnosticReport'),
    },
    {
      fullUrl: BINARY_URL,
      resource: {
        resourceType: 'Binary',
        contentType: 'text/plain',
        data: Buffer.from('discharge note').toString('base64'),
      },
      request: post('Binary'),
    },
    {
      resource: {
        resourceType: 'DocumentReference',
        masterIdentifier: { system: 'urn:oid:2.16.840.1.113883.3.9999.1.3', value: 'DOC-1' },
        status: 'current',
        subject: { identifier: { system: MRN_SYSTEM, value: 'MRN-1' } },
        securityLabel: [{ coding: [{ code: 'N' }] }],
        content: [{ attachment: { url: BINARY_URL } }],
      },
      request: post('DocumentReference'),
    },
  ];
  for (const [index, resource] of Object.entries(overrides)) {
    const entry = entries[Number(index)];
    entry.resource = { ...entry.resource, ...resource };
  }
  return { resourceType: 'Bundle', type: 'transaction', id: 'sub-1', entry: entries };
}

function valid(json: unknown): ValidBundle {
  const result = validateBundle(json, institution);
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.bundle;
}

describe('validateBundle', () => {
  it('accepts the supported subset', () => {
    expect(valid(bundle())).toMatchObject({
      type: 'transaction',
      submissionId: 'sub-1',
      entries: expect.any(Array),
    });
  });

  it('names the FHIRPath of every problem, one issue each, without echoing values', () => {
    const result = validateBundle(
      bundle({
        1: { status: 'SECRET-walking', class: undefined },
        2: { code: {} },
        3: { subject: { reference: 'Patient/elsewhere' } },
      }),
      institution,
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues.map((i) => i.expression)).toEqual([
      'Bundle.entry[1].resource.status',
      'Bundle.entry[1].resource.class',
      'Bundle.entry[2].resource.code',
    ]);
    expect(JSON.stringify(result.issues)).not.toContain('SECRET');
  });

  it('checks identifiers, subjects and attachments against the registration and the Bundle', () => {
    const result = validateBundle(
      bundle({
        0: { identifier: [{ system: 'urn:oid:9.9.9', value: 'X' }] },
        3: { result: [{ reference: 'Observation/nowhere' }] },
        5: {
          subject: { identifier: { system: 'urn:oid:9.9.9', value: 'X' } },
          content: [{ attachment: { url: 'Binary/nowhere' } }],
        },
      }),
      institution,
    );
    if (result.ok) throw new Error('expected issues');
    expect(result.issues.map((i) => i.expression)).toEqual([
      'Bundle.entry[0].resource.identifier',
      'Bundle.entry[3].resource.result[0]',
      'Bundle.entry[5].resource.subject',
      'Bundle.entry[5].resource.content[0].attachment.url',
    ]);
  });

  it('refuses other Bundle types, unsupported resources, entries without request and headless messages', () => {
    const batch = validateBundle({ ...bundle(), type: 'batch' }, institution);
    expect(batch).toEqual({ ok: false, issues: [expect.objectContaining({ expression: 'Bundle.type' })] });
    const other = bundle();
    other.entry.push({ resource: { resourceType: 'Medication' }, request: post('Medication') });
    const noRequest = bundle();
    delete noRequest.entry[1].request;
    expect(validateBundle(noRequest, institution)).toEqual({
      ok: false,
      issues: [expect.objectContaining({ expression: 'Bundle.entry[1].request' })],
    });
    expect(validateBundle(other, institution)).toEqual({
      ok: false,
      issues: [
        expect.objectContaining({
          code: 'not-supported',
          expression: 'Bundle.entry[6].resource.resourceType',
        }),
      ],
    });
    const message = { ...bundle(), type: 'message' };
    const issues = validateBundle(message, institution);
    expect(issues.ok).toBe(false);
    if (!issues.ok) expect(issues.issues.map((i) => i.expression)).toContain('Bundle.entry[0].resource');
    expect(validateBundle({ resourceType: 'Patient' }, institution)).toMatchObject({ ok: false });
  });
});

describe('validateBundle: identifiers the sender does not own', () => {
  const OTHER_MRN = 'urn:oid:2.16.840.1.113883.3.9999.2.1';
  const SHARED_NID = 'urn:oid:2.16.840.1.113883.3.9999.9.9';
  /** What identifierSystemsOfOthers gives St. Aurelia when another hospital registered OTHER_MRN and SHARED_NID. */
  const others: ReadonlySet<string> = new Set([OTHER_MRN]);
  const victim = '6f1d2a34-5b6c-4d7e-8f90-a1b2c3d4e5f6';

  it("refuses a Patient claiming an enterprise id or another institution's number, naming each identifier", () => {
    const result = validateBundle(
      bundle({
        0: {
          identifier: [
            { system: MRN_SYSTEM, value: 'NEW-1' },
            { system: 'urn:tessera:enterprise-id', value: victim },
            { system: OTHER_MRN, value: 'Y-123' },
          ],
        },
      }),
      institution,
      others,
    );
    if (result.ok) throw new Error('expected issues');
    expect(result.issues).toEqual([
      expect.objectContaining({
        code: 'business-rule',
        expression: 'Bundle.entry[0].resource.identifier[1]',
        diagnostics: expect.stringContaining("the exchange's own") as string,
      }),
      expect.objectContaining({
        code: 'business-rule',
        expression: 'Bundle.entry[0].resource.identifier[2]',
        diagnostics: expect.stringContaining('another institution') as string,
      }),
    ]);
    const text = JSON.stringify(result.issues);
    expect(text).not.toContain(victim);
    expect(text).not.toContain('Y-123');
    expect(text).not.toContain('NEW-1');
  });

  it('refuses the reserved namespace in any case, even without a registry of others', () => {
    const result = validateBundle(
      bundle({
        0: {
          identifier: [
            { system: MRN_SYSTEM, value: 'MRN-1' },
            { system: 'URN:TESSERA:aa:other-hospital:LEGACY', value: 'L-1' },
          ],
        },
      }),
      institution,
    );
    expect(result).toEqual({
      ok: false,
      issues: [expect.objectContaining({ expression: 'Bundle.entry[0].resource.identifier[1]' })],
    });
  });

  it("refuses a subject identifier in an enterprise id or in another institution's system", () => {
    const result = validateBundle(
      bundle({
        1: { subject: { reference: PATIENT_URL, identifier: { system: OTHER_MRN, value: 'Y-123' } } },
        5: { subject: { identifier: { system: 'urn:tessera:enterprise-id', value: victim } } },
      }),
      institution,
      others,
    );
    if (result.ok) throw new Error('expected issues');
    expect(result.issues.map((i) => i.expression)).toEqual([
      'Bundle.entry[1].resource.subject.identifier',
      'Bundle.entry[5].resource.subject.identifier',
    ]);
    expect(JSON.stringify(result.issues)).not.toContain(victim);
  });

  it('keeps accepting a system the sender registered too, and systems nobody registered', () => {
    const shared = validateBundle(
      bundle({
        0: {
          identifier: [
            { system: SHARED_NID, value: 'N-77' },
            { system: MRN_SYSTEM, value: 'MRN-1' },
            { system: 'http://hl7.org/fhir/sid/us-ssn', value: '000-00-0000' },
          ],
        },
      }),
      institution,
      others,
    );
    expect(shared.ok).toBe(true);
  });

  it('refuses the same Bundle on replay (decideFhirBundle) with the registry of others', () => {
    const raw = Buffer.from(
      JSON.stringify(
        bundle({
          0: {
            identifier: [
              { system: MRN_SYSTEM, value: 'MRN-1' },
              { system: OTHER_MRN, value: 'Y-1' },
            ],
          },
        }),
      ),
    );
    const decision = decideFhirBundle(raw, institution, 'ledger-r', 'access-token', others);
    expect(decision).toMatchObject({ status: 'failed' });
    expect(decision.detail).toContain('Bundle.entry[0].resource.identifier[1]');
    expect(decision.detail).not.toContain('Y-1');
  });
});

describe('convertBundle', () => {
  it('assigns the ids the HL7 v2 mapper gives the same business keys and rewrites references', () => {
    const converted = convertBundle(valid(bundle()), institution, 'ledger-1', 'a'.repeat(64));
    const patientId = deterministicId('Patient', 'st-aurelia', MRN_SYSTEM, 'MRN-1');
    expect(converted.locations[0]).toBe(`Patient/${patientId}`);
    expect(converted.locations[1]).toBe(
      `Encounter/${deterministicId('Encounter', 'st-aurelia', 'urn:oid:2.16.840.1.113883.3.9999.1.2', 'V-1')}`,
    );
    expect(converted.partitionKey).toBe('st-aurelia|MRN-1');
    expect(converted.events.map((e) => e.kind)).toEqual([
      'patient-upserted',
      'encounter-upserted',
      'observation-reported',
      'document-published',
    ]);

    const [patient, encounter, results, document] = converted.events;
    expect(validateEventData(PatientUpserted, patient.data)).toMatchObject({
      localPatientId: 'MRN-1',
      patientSystem: MRN_SYSTEM,
      mapperVersion: FHIR_INGEST_VERSION,
      channel: 'fhir',
      sourceMessageId: 'ledger-1',
    });
    expect(validateEventData(EncounterUpserted, encounter.data).encounter.subject).toEqual({
      reference: `Patient/${patientId}`,
    });
    const obs = validateEventData(ObservationReported, results.data);
    expect(obs.reports[0].result).toEqual([{ reference: converted.locations[2] }]);
    const doc = validateEventData(DocumentPublished, document.data);
    expect(Buffer.from(doc.content.base64, 'base64').toString()).toBe('discharge note');
    expect(doc.content).toMatchObject({ contentType: 'text/plain', size: 14 });
    expect(doc.document.content[0].attachment).toEqual({
      contentType: 'text/plain',
      size: 14,
      hash: expect.any(String),
    });
    expect(doc.document.subject?.reference).toBe(`Patient/${patientId}`);
    expect(doc.document.securityLabel).toEqual([{ coding: [{ code: 'N' }] }]);
  });

  it('is deterministic: the same bytes give the same ids (re-POST, replay)', () => {
    const raw = Buffer.from(JSON.stringify(bundle()));
    const a = decideFhirBundle(raw, institution, 'l1');
    const b = decideFhirBundle(raw, institution, 'l1');
    expect(a).toEqual(b);
    expect(decideFhirBundle(raw, undefined, 'l1')).toMatchObject({ status: 'failed' });
    expect(decideFhirBundle(Buffer.from('{'), institution, 'l1')).toMatchObject({
      status: 'failed',
      detail: expect.stringContaining('not valid JSON'),
    });
  });
});

describe('OperationOutcome', () => {
  it('builds one issue per problem with severity error by default', () => {
    expect(
      operationOutcome([
        { code: 'invalid', diagnostics: 'bad', expression: 'Bundle.type' },
        { severity: 'information', code: 'informational', diagnostics: 'ok' },
      ]),
    ).toEqual({
      resourceType: 'OperationOutcome',
      issue: [
        { severity: 'error', code: 'invalid', diagnostics: 'bad', expression: ['Bundle.type'] },
        { severity: 'information', code: 'informational', diagnostics: 'ok' },
      ],
    });
  });

  it('formats paths FHIRPath-style', () => {
    expect(formatPath('Bundle', ['entry', 2, 'resource', 'status'])).toBe('Bundle.entry[2].resource.status');
    expect(formatPath('', ['assigningAuthorities', 0, 'system'])).toBe('assigningAuthorities[0].system');
    expect(formatPath('Bundle', [])).toBe('Bundle');
  });
});
