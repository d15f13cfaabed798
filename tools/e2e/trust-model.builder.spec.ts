import { parseHl7 } from '@tessera/hl7v2';
import { mapHl7Message, protectionIndicatorOf } from '@tessera/v2-fhir';
import type { MappingContext, MappingResult } from '@tessera/v2-fhir';
import { adt, mdmT02, RCC_SYSTEM, STA_SYSTEM, trustPerson } from './trust-model.builder';

// The gateway's mapping context of each demo institution (apps/interop-gateway mapping-context.factory).
const stAurelia: MappingContext = {
  institutionId: 'st-aurelia',
  patientIdentifierSystems: { STA: STA_SYSTEM },
  defaultPatientSystem: STA_SYSTEM,
};
const riverside: MappingContext = {
  institutionId: 'riverside',
  patientIdentifierSystems: { RCC: RCC_SYSTEM },
  defaultPatientSystem: RCC_SYSTEM,
};

function mapped(bytes: Buffer, context: MappingContext): MappingResult {
  const outcome = mapHl7Message(parseHl7(bytes.toString('utf8')), context);
  if (outcome.status !== 'mapped') throw new Error(`not mapped: ${JSON.stringify(outcome)}`);
  return outcome.result;
}

describe('trust-model builder (messages of the adversarial suite)', () => {
  const person = trustPerson('unitrun1', 'a');

  it('ADT^A04 with PD1-12 Y maps to a protected patient; without PD1 the indicator is absent', () => {
    const protectedPatient = mapped(adt('sta', 'A04', person, 'c1', { protection: 'Y' }).bytes, stAurelia);
    expect(protectionIndicatorOf(protectedPatient.patient)).toBe(true);
    const withdrawn = mapped(adt('sta', 'A08', person, 'c2', { protection: 'N' }).bytes, stAurelia);
    expect(protectionIndicatorOf(withdrawn.patient)).toBe(false);
    const silent = mapped(
      mdmT02('sta', person, 'c3', 'DOC-1', {
        documentType: 'DS',
        observation: '18842-5^Discharge summary^LN',
        kind: 'pdf',
      }).bytes,
      stAurelia,
    );
    expect(protectionIndicatorOf(silent.patient)).toBeUndefined();
    expect(silent.localPatientId).toBe(person.staMrn);
  });

  it('the SSN is a PID-3 repetition of type SS under the SSA OID; the MRN stays the local id', () => {
    const result = mapped(adt('rcc', 'A04', person, 'c4', { ssn: true, contact: false }).bytes, riverside);
    expect(result.localPatientId).toBe(person.rccMrn);
    expect(result.patient.identifier).toContainEqual(
      expect.objectContaining({ system: 'urn:oid:2.16.840.1.113883.4.1', value: person.ssn }),
    );
    expect(person.ssn).toMatch(/^9\d{8}$/);
    expect(result.patient.address).toBeUndefined();
  });

  it('a text note carries its TXA-12 number and bytes; MSH-4 can be forged', () => {
    const note = mdmT02('sta', person, 'c5', 'PSY-1', {
      documentType: 'CN',
      observation: '34788-0^Psychiatry Consult note^LN',
      kind: 'text',
    });
    const result = mapped(note.bytes, stAurelia);
    expect(result.document?.masterIdentifier?.value).toBe('PSY-1');
    expect(
      Buffer.from(result.content?.data ?? '', 'base64').equals(note.document?.bytes ?? Buffer.alloc(0)),
    ).toBe(true);
    const forged = adt('rcc', 'A04', person, 'c6', { facility: 'STAURELIA' }).bytes.toString('utf8');
    expect(forged.split('\r')[0]?.split('|')[3]).toBe('STAURELIA');
  });

  it('people differ per run and key; the family name is letters only', () => {
    const other = trustPerson('unitrun1', 'b');
    expect(other.staMrn).not.toBe(person.staMrn);
    expect(other.family).not.toBe(person.family);
    expect(person.family).toMatch(/^[A-Za-z]+$/);
    expect(() => trustPerson('Not A Run', 'a')).toThrow('malformed');
  });
});
