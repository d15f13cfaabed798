import { parseHl7 } from '@tessera/hl7v2';
import { mapHl7Message } from '@tessera/v2-fhir';
import type { MappingContext, MappingResult } from '@tessera/v2-fhir';
import { buildRegionalFeed, RCC_SYSTEM, STA_SYSTEM } from './regional-feed.builder';

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

function mapped(text: string, context: MappingContext): MappingResult {
  const outcome = mapHl7Message(parseHl7(text), context);
  if (outcome.status !== 'mapped') throw new Error(`not mapped: ${JSON.stringify(outcome)}`);
  return outcome.result;
}

describe('buildRegionalFeed (messages of the end-to-end test)', () => {
  const feed = buildRegionalFeed('e2eunit1', new Date('2026-11-22T04:00:00Z'));

  it('maps St Aurelia A04 and T02 to one patient; the ED document is the PDF, typed application/pdf', () => {
    const [a04, t02] = feed.stAurelia.map((m) => mapped(m, stAurelia));
    expect(a04?.patient.identifier).toContainEqual(
      expect.objectContaining({ system: STA_SYSTEM, value: feed.person.staMrn }),
    );
    expect(a04?.encounter?.period?.start).toBe('2026-11-22T04:00:00Z');
    expect(t02?.localPatientId).toBe(feed.person.staMrn);
    expect(t02?.content?.contentType).toBe('application/pdf');
    expect(Buffer.from(t02?.content?.data ?? '', 'base64').equals(feed.pdf)).toBe(true);
    expect(t02?.content?.sha256).toBe(feed.pdfSha256.toString('hex'));
    expect(t02?.warnings).toEqual([]);
  });

  it('Riverside messages are ISO 8859-1 bytes of the same person (same name, birth date, sex, address), another MRN', () => {
    const [a04, t02] = feed.riverside.map((m) => mapped(m.toString('latin1'), riverside));
    const sta = mapped(feed.stAurelia[0] ?? '', stAurelia).patient;
    expect(a04?.patient.identifier).toEqual([
      expect.objectContaining({ system: RCC_SYSTEM, value: feed.person.rccMrn }),
    ]);
    expect(a04?.warnings).toEqual([]);
    for (const field of ['name', 'birthDate', 'gender', 'address'] as const)
      expect(a04?.patient[field]).toEqual(sta[field]);
    expect(t02?.content?.contentType).toBe('text/plain; charset=utf-8');
  });

  it('is unique per run: MRNs, control ids and the family name differ; the family name is letters only', () => {
    const other = buildRegionalFeed('e2eunit2');
    expect(other.person.staMrn).not.toBe(feed.person.staMrn);
    expect(other.person.family).not.toBe(feed.person.family);
    expect(other.controlIds).not.toEqual(feed.controlIds);
    expect(feed.person.family).toMatch(/^[A-Za-z]+$/);
    expect(() => buildRegionalFeed('Not A Run')).toThrow('run id');
  });
});
