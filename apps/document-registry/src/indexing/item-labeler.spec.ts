import type { DocumentReference } from '@medplum/fhirtypes';
import { parseHl7 } from '@tessera/hl7v2';
import { mapHl7Message } from '@tessera/v2-fhir';
import type { MappingContext, MappingResult } from '@tessera/v2-fhir';
import { resultRow } from './index-row.mapper';
import { ItemLabeler, labelsOf, reportLabels } from './item-labeler';

// Labels from every code that says what an item is, with the demo region's rules: HL7 v2 messages
// go through the real mapper, FHIR resources are indexed as the source sent them.
const rules = ItemLabeler.loadRules('deploy/demo-region/labeling-rules.yaml');
const LOINC = 'http://loinc.org';

const CONTEXT: MappingContext = {
  institutionId: 'hosp-a',
  patientIdentifierSystems: { HOSPA: 'https://hosp-a.example/fhir/sid/mrn' },
  defaultPatientSystem: 'https://hosp-a.example/fhir/sid/local-patient',
  identifierSystems: {
    HIS: 'https://hosp-a.example/fhir/sid/his',
    LIS: 'https://hosp-a.example/fhir/sid/lis',
  },
};
const MSH = (type: string) =>
  `MSH|^~\\&|HIS|HOSPA|TESSERA|REGION|20240503161000+0800||${type}|CTRL-1|P|2.5.1`;
const PID = 'PID|1||MRN-1^^^HOSPA^MR||Testperson^Alex^^^^^L||19800101|F';

function mapped(...segments: string[]): MappingResult {
  const outcome = mapHl7Message(parseHl7(segments.join('\r')), CONTEXT);
  if (outcome.status !== 'mapped') throw new Error(`expected mapped, got ${JSON.stringify(outcome)}`);
  return outcome.result;
}

function mdm(txa2: string, obx3: string): DocumentReference {
  const document = mapped(
    MSH('MDM^T02^MDM_T02'),
    PID,
    `TXA|1|${txa2}|TX|||20240503160000+0800||||||DOC-1^HIS|||||AU||AV`,
    `OBX|1|TX|${obx3}||Synthetic note text.||||||F`,
  ).document;
  if (document === undefined) throw new Error('no DocumentReference');
  return document;
}

const codesOf = (resource: Parameters<typeof labelsOf>[0]) => labelsOf(resource, [], rules).labelCodes;

function fhirDocument(extra: Partial<DocumentReference>): DocumentReference {
  return {
    resourceType: 'DocumentReference',
    status: 'current',
    type: { coding: [{ system: LOINC, code: '11488-4', display: 'Consult note' }] },
    content: [{ attachment: { contentType: 'text/plain' } }],
    ...extra,
  };
}

describe('labels from every code that says what a document is', () => {
  it('MDM^T02 with TXA-2 CN and OBX-3 34788-0 (Psychiatry Consult note) is labelled PSY', () => {
    expect(codesOf(mdm('CN^Consultation^HL70270', '34788-0^Psychiatry Consult note^LN'))).toEqual(['PSY']);
  });

  it('MDM^T02 whose TXA-2 alone is the sensitive LOINC document type is labelled PSY', () => {
    expect(codesOf(mdm('34788-0^Psychiatry Consult note^LN', '11488-4^Consult note^LN'))).toEqual(['PSY']);
  });

  it('MDM^T02 whose OBX-3 is known only through the LOINC Document Ontology table is labelled', () => {
    expect(codesOf(mdm('CN^Consultation^HL70270', '84202-1^Mental health Hospital Note^LN'))).toEqual([
      'PSY',
    ]);
    expect(codesOf(mdm('CN^Consultation^HL70270', '88361-1^Addiction medicine Alert^LN'))).toEqual([
      'ETH',
      'SUD',
    ]);
  });

  it('a plain consultation stays unlabelled', () => {
    expect(codesOf(mdm('CN^Consultation^HL70270', '11488-4^Consult note^LN'))).toEqual([]);
  });

  it('FHIR DocumentReference: the sensitive code only in a second type coding → labelled', () => {
    const document = fhirDocument({
      type: {
        coding: [
          { system: 'urn:tessera:cs:hosp-a:doctype', code: 'CONS' },
          { system: LOINC, code: '34788-0' },
        ],
      },
    });
    expect(codesOf(document)).toEqual(['PSY']);
  });

  it('FHIR DocumentReference: the sensitive code only in category → labelled', () => {
    const document = fhirDocument({ category: [{ coding: [{ system: LOINC, code: '78263-1' }] }] });
    expect(codesOf(document)).toEqual(['PSY']);
  });

  it('FHIR DocumentReference: a LOINC type known only via the ontology table → labelled', () => {
    const document = fhirDocument({ type: { coding: [{ system: LOINC, code: '34102-4' }] } });
    expect(rules.rules.some((r) => r.codes?.includes('34102-4'))).toBe(false);
    expect(codesOf(document)).toEqual(['PSY']);
  });
});

describe('labels of results from OBR-4, OBX-3 and category', () => {
  const oru = mapped(
    MSH('ORU^R01^ORU_R01'),
    PID,
    'OBR|1|ORD-1^HIS|LAB-1^LIS|75622-1^HIV 1 and 2 tests - Meaningful Use set^LN|||20240502080000+0800||||||||||||||||CH|F',
    'OBX|1|CWE|7917-8^HIV 1 Ab [Presence] in Serum^LN||260385009^Negative^SCT||||||F',
    'OBX|2|NM|2345-7^Glucose [Mass/volume] in Serum or Plasma^LN||5.1|mmol/L^mmol/L^UCUM|||||F',
  );

  it('labels the report from OBR-4 and each observation from its OBX-3', () => {
    expect(oru.reports.map(codesOf)).toEqual([['HIV']]);
    expect(oru.observations.map(codesOf)).toEqual([['HIV'], []]);
  });
});

describe('a report carries the labels of the results it lists', () => {
  // A plain panel (OBR-4 Comprehensive metabolic panel) whose first result is an HIV test.
  const panel = mapped(
    MSH('ORU^R01^ORU_R01'),
    PID,
    'OBR|1|ORD-2^HIS|LAB-2^LIS|24323-8^Comprehensive metabolic panel^LN|||20240502080000+0800||||||||||||||||CH|F',
    'OBX|1|CWE|7917-8^HIV 1 Ab [Presence] in Serum^LN||260385009^Negative^SCT||||||F',
    'OBX|2|NM|2345-7^Glucose [Mass/volume] in Serum or Plasma^LN||5.1|mmol/L^mmol/L^UCUM|||||F',
  );
  const report = panel.reports[0];
  if (report === undefined) throw new Error('no DiagnosticReport');
  const [hiv, glucose] = panel.observations.map((o) => ({
    id: o.id ?? '',
    labels: labelsOf(o, [], rules).securityLabels,
  }));
  if (hiv === undefined || glucose === undefined) throw new Error('expected two observations');
  const own = labelsOf(report, [], rules);

  it('lists the Observation ids of DiagnosticReport.result in order', () => {
    expect(resultRow(report, 'hosp-a').resultIds).toEqual([hiv.id, glucose.id]);
    expect(resultRow(panel.observations[0] ?? report, 'hosp-a').resultIds).toEqual([]);
  });

  it('labels a plain panel with an HIV result HIV, though its own code says nothing', () => {
    expect(own.labelCodes).toEqual([]);
    expect(reportLabels(own, [hiv.labels, glucose.labels]).labelCodes).toEqual(['HIV']);
  });

  it("keeps the report's own labels first and adds each result label once", () => {
    const sent = { system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' };
    const labels = reportLabels(labelsOf(report, [sent], rules), [hiv.labels, hiv.labels, glucose.labels]);
    expect(labels.securityLabels).toEqual([sent, ...hiv.labels]);
    expect(labels.labelCodes).toEqual(['HIV', 'R']);
  });

  it('leaves a panel of unlabelled results as its own labels say', () => {
    expect(reportLabels(own, [glucose.labels, []])).toEqual(own);
  });
});
