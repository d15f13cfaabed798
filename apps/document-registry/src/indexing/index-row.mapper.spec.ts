import type { DocumentReference, Encounter, Observation } from '@medplum/fhirtypes';
import { documentRow, encounterRow, referencedId, resultRow, tokensOf } from './index-row.mapper';

const encounter: Encounter = {
  resourceType: 'Encounter',
  id: 'enc-1',
  status: 'in-progress',
  class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' },
  type: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0007', code: 'E' }] }],
  period: { start: '2024-05-01T08:00:00+08:00' },
  location: [{ location: { identifier: { system: 'urn:x', value: 'HOSPA/ICU/12/1' } } }],
  meta: { security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'N' }] },
};

const document: DocumentReference = {
  resourceType: 'DocumentReference',
  id: 'doc-2',
  status: 'current',
  type: { coding: [{ system: 'http://loinc.org', code: '18842-5' }] },
  category: [{ coding: [{ code: 'clinical-note' }] }],
  date: '2024-05-03T16:00:00+08:00',
  securityLabel: [
    { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }] },
  ],
  relatesTo: [
    { code: 'replaces', target: { reference: 'DocumentReference/doc-1' } },
    { code: 'appends', target: { reference: 'DocumentReference/doc-0' } },
  ],
  content: [{ attachment: { contentType: 'text/plain' } }],
  context: { encounter: [{ reference: 'Encounter/enc-1' }] },
};

describe('tokensOf / referencedId', () => {
  it('gives system|code and bare code tokens', () => {
    expect(
      tokensOf([{ coding: [{ system: 's', code: 'c' }, { code: 'd' }, { system: 's' }] }, undefined]),
    ).toEqual(['c', 'd', 's|c']);
  });

  it('reads relative and absolute literal references of the right type only', () => {
    expect(referencedId({ reference: 'Encounter/e1' }, 'Encounter')).toBe('e1');
    expect(referencedId({ reference: 'https://x/fhir/Encounter/e1' }, 'Encounter')).toBe('e1');
    expect(referencedId({ reference: 'Patient/p1' }, 'Encounter')).toBeNull();
    expect(referencedId(undefined, 'Encounter')).toBeNull();
  });
});

describe('encounterRow', () => {
  it('extracts class, type, period, facility and labels', () => {
    const row = encounterRow(encounter, 'inst-a');
    expect(row).toMatchObject({
      id: 'enc-1',
      isCurrent: true,
      classCode: 'IMP',
      effectiveAt: '2024-05-01T08:00:00+08:00',
      facilityTokens: ['HOSPA/ICU/12/1', 'inst-a'],
      securityLabels: [{ code: 'N' }],
    });
    expect(row.typeTokens).toContain('http://terminology.hl7.org/CodeSystem/v2-0007|E');
  });

  it('takes a cancelled (A11) or entered-in-error encounter out of current results', () => {
    expect(encounterRow({ ...encounter, status: 'cancelled' }, 'a').isCurrent).toBe(false);
    expect(encounterRow({ ...encounter, status: 'entered-in-error' }, 'a').isCurrent).toBe(false);
    expect(encounterRow({ ...encounter, status: 'finished' }, 'a').isCurrent).toBe(true);
  });

  it('refuses a resource without an id', () => {
    const { id: _id, ...withoutId } = encounter;
    expect(() => encounterRow(withoutId, 'a')).toThrow(/without an id/);
  });
});

describe('documentRow', () => {
  it('extracts type, category, encounter, security labels and replaces targets only', () => {
    const row = documentRow(document, 'inst-a');
    expect(row).toMatchObject({
      id: 'doc-2',
      isCurrent: true,
      typeTokens: ['18842-5', 'http://loinc.org|18842-5'],
      categoryTokens: ['clinical-note'],
      encounterId: 'enc-1',
      replaces: ['doc-1'],
      securityLabels: [{ code: 'R' }],
      effectiveAt: '2024-05-03T16:00:00+08:00',
    });
  });

  it('is current only when status is current and docStatus is not entered-in-error', () => {
    expect(documentRow({ ...document, status: 'superseded' }, 'a').isCurrent).toBe(false);
    expect(documentRow({ ...document, status: 'entered-in-error' }, 'a').isCurrent).toBe(false);
    expect(documentRow({ ...document, docStatus: 'entered-in-error' }, 'a').isCurrent).toBe(false);
  });
});

describe('resultRow', () => {
  it('indexes an Observation by code, effective time and encounter', () => {
    const observation: Observation = {
      resourceType: 'Observation',
      id: 'obs-1',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '2345-7' }] },
      effectiveDateTime: '2024-05-02T08:00:00+08:00',
      encounter: { reference: 'Encounter/enc-1' },
    };
    expect(resultRow(observation, 'a')).toMatchObject({
      resourceType: 'Observation',
      codeTokens: ['2345-7', 'http://loinc.org|2345-7'],
      effectiveAt: '2024-05-02T08:00:00+08:00',
      encounterId: 'enc-1',
      isCurrent: true,
    });
    expect(resultRow({ ...observation, status: 'entered-in-error' }, 'a').isCurrent).toBe(false);
  });
});
