import type { DiagnosticReport, DocumentReference, Encounter, Observation } from '@medplum/fhirtypes';
import { clinicalCodesOf } from '@tessera/consent-policy';
import { ItemLabeler, labelsOf, mergeLabels } from './item-labeler';

const ICD10 = 'http://hl7.org/fhir/sid/icd-10';
const LOINC = 'http://loinc.org';
const ACT_CODE = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';

describe('clinicalCodesOf', () => {
  it('takes an encounter class, type, reason and the code of a contained diagnosis', () => {
    const encounter: Encounter = {
      resourceType: 'Encounter',
      id: 'e1',
      status: 'finished',
      class: { system: ACT_CODE, code: 'IMP' },
      type: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0007', code: 'E' }] }],
      reasonCode: [{ coding: [{ system: ICD10, code: 'F32.1' }] }],
      contained: [
        {
          resourceType: 'Condition',
          id: 'dx1',
          subject: {},
          code: { coding: [{ system: ICD10, code: 'B20' }] },
        },
        // Not a diagnosis of the encounter: ignored.
        {
          resourceType: 'Condition',
          id: 'other',
          subject: {},
          code: { coding: [{ system: ICD10, code: 'Z00' }] },
        },
      ],
      diagnosis: [{ condition: { reference: '#dx1' } }, { condition: { reference: 'Condition/remote' } }],
    };
    expect(clinicalCodesOf(encounter)).toEqual([
      { system: ACT_CODE, code: 'IMP' },
      { system: 'http://terminology.hl7.org/CodeSystem/v2-0007', code: 'E' },
      { system: ICD10, code: 'F32.1' },
      { system: ICD10, code: 'B20' },
    ]);
  });

  it('takes a document type, category and context codes, de-duplicated', () => {
    const document: DocumentReference = {
      resourceType: 'DocumentReference',
      status: 'current',
      type: {
        coding: [
          { system: LOINC, code: '11488-4' },
          { system: LOINC, code: '11488-4' },
        ],
      },
      category: [{ coding: [{ system: LOINC, code: '47039-3' }] }],
      context: {
        practiceSetting: { coding: [{ system: 'http://snomed.info/sct', code: '394587001' }] },
        event: [{ coding: [{ code: 'PSY' }] }],
      },
      content: [{ attachment: {} }],
    };
    expect(clinicalCodesOf(document)).toEqual([
      { system: LOINC, code: '11488-4' },
      { system: LOINC, code: '47039-3' },
      { system: '', code: 'PSY' },
      { system: 'http://snomed.info/sct', code: '394587001' },
    ]);
  });

  it('takes report and observation codes, coded values and components', () => {
    const report: DiagnosticReport = {
      resourceType: 'DiagnosticReport',
      status: 'final',
      code: { coding: [{ system: LOINC, code: '75622-1' }] },
      conclusionCode: [{ coding: [{ system: ICD10, code: 'B20' }] }],
    };
    expect(clinicalCodesOf(report)).toEqual([
      { system: LOINC, code: '75622-1' },
      { system: ICD10, code: 'B20' },
    ]);
    const observation: Observation = {
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: LOINC, code: '7905-3' }] },
      valueCodeableConcept: { coding: [{ system: 'http://snomed.info/sct', code: '10828004' }] },
      component: [{ code: { coding: [{ system: LOINC, code: '2345-7', display: 'glucose' }] } }],
    };
    expect(clinicalCodesOf(observation)).toEqual([
      { system: LOINC, code: '7905-3' },
      { system: 'http://snomed.info/sct', code: '10828004' },
      { system: LOINC, code: '2345-7' },
    ]);
  });
});

describe('mergeLabels', () => {
  it('keeps the source labels, adds derived ones once, and lists the distinct codes sorted', () => {
    const merged = mergeLabels(
      [
        { system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' },
        { system: ACT_CODE, code: 'PSY' },
      ],
      [
        { system: ACT_CODE, code: 'PSY' },
        { system: ACT_CODE, code: 'ETH' },
      ],
    );
    expect(merged.securityLabels).toEqual([
      { system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' },
      { system: ACT_CODE, code: 'PSY' },
      { system: ACT_CODE, code: 'ETH' },
    ]);
    expect(merged.labelCodes).toEqual(['ETH', 'PSY', 'R']);
  });
});

describe('labelsOf with the demo region rules', () => {
  const rules = ItemLabeler.loadRules('deploy/demo-region/labeling-rules.yaml');

  it('labels an encounter for a depressive episode PSY next to the source labels', () => {
    const encounter: Encounter = {
      resourceType: 'Encounter',
      status: 'finished',
      class: { system: ACT_CODE, code: 'IMP' },
      reasonCode: [{ coding: [{ system: ICD10, code: 'F32.1' }] }],
    };
    const labels = labelsOf(
      encounter,
      [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'N' }],
      rules,
    );
    expect(labels.securityLabels).toEqual([
      { system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'N' },
      { system: ACT_CODE, code: 'PSY' },
    ]);
    expect(labels.labelCodes).toEqual(['N', 'PSY']);
  });

  it('labels nothing for a routine result', () => {
    const observation: Observation = {
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: LOINC, code: '2345-7' }] },
    };
    expect(labelsOf(observation, [], rules)).toEqual({ securityLabels: [], labelCodes: [] });
  });

  it('names the setting when the rules file is missing or invalid', () => {
    expect(() => ItemLabeler.loadRules('deploy/demo-region/no-such-rules.yaml')).toThrow(
      /REGISTRY_LABELING_RULES_FILE .*no-such-rules\.yaml cannot be read: ENOENT/,
    );
    expect(() => ItemLabeler.loadRules('deploy/demo-region/institutions.yaml')).toThrow(
      /REGISTRY_LABELING_RULES_FILE/,
    );
  });
});
