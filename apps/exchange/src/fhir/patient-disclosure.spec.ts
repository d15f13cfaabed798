import type { Patient } from '@medplum/fhirtypes';
import type { PatientDecision } from '@tessera/consent-policy';
import type { AccessDecision } from '../policy/access-decision.service';
import {
  disclosureOf,
  matchNamesForeignIdentifier,
  ownOnlyPatient,
  pdqNamesForeignIdentifier,
  SUBSETTED_TAG,
} from './patient-disclosure';

const STA = 'urn:oid:2.16.840.1.113883.3.9999.1.1';
const RIV = 'urn:oid:2.16.840.1.113883.3.9999.2.1';
const EID = 'urn:tessera:enterprise-id';

function access(discoverable: boolean, others: 'all' | 'none'): AccessDecision {
  const decision: PatientDecision = {
    discoverable,
    visibility: { ownInstitution: 'riverside', others, deniedLabels: [] },
    breakGlass: 'not-requested',
    reasons: [],
    obligations: [],
  };
  return { enterpriseId: 'e1', decision, policy: null, header: '' };
}

describe('disclosureOf', () => {
  it('full when others are shared, own when discoverable but not shared, hidden otherwise', () => {
    expect(disclosureOf(access(true, 'all'))).toBe('full');
    // a holder of an opted-out person: discoverable, nothing of others shared
    expect(disclosureOf(access(true, 'none'))).toBe('own');
    expect(disclosureOf(access(false, 'none'))).toBe('hidden');
    expect(disclosureOf(undefined)).toBe('hidden');
  });
});

describe('ownOnlyPatient', () => {
  const golden: Patient = {
    resourceType: 'Patient',
    id: 'e1',
    active: true,
    name: [{ family: 'Doe', given: ['Jane'] }],
    gender: 'female',
    birthDate: '1970-01-01',
    telecom: [{ system: 'phone', value: '555-0100' }],
    address: [{ city: 'Springfield' }],
    identifier: [
      { system: EID, value: 'e1', use: 'official' },
      { system: STA, value: 'STA-1' },
      { system: RIV, value: 'RIV-1' },
      { system: 'http://hl7.org/fhir/sid/us-ssn', value: '000-00-0000' },
    ],
  };

  it('keeps the enterprise id and the caller’s own identifiers, nothing else; tagged SUBSETTED', () => {
    const reduced = ownOnlyPatient(golden, [RIV]);
    expect(reduced).toEqual({
      resourceType: 'Patient',
      id: 'e1',
      meta: { tag: [SUBSETTED_TAG] },
      identifier: [
        { system: EID, value: 'e1', use: 'official' },
        { system: RIV, value: 'RIV-1' },
      ],
    });
    expect(JSON.stringify(reduced)).not.toMatch(/Doe|Jane|1970|555|Springfield|STA-1|000-00/);
  });

  it('adds the enterprise id when the golden record does not list it', () => {
    const reduced = ownOnlyPatient({ ...golden, identifier: [{ system: STA, value: 'STA-1' }] }, [RIV]);
    expect(reduced.identifier).toEqual([{ system: EID, value: 'e1' }]);
  });
});

describe('lookups by another institution’s identifier', () => {
  const own = ['urn:oid:1.2.3.sta'];
  it('PDQm identifier: foreign unless every value names an own system or the enterprise id', () => {
    expect(pdqNamesForeignIdentifier([], own)).toBe(false);
    expect(pdqNamesForeignIdentifier(['urn:oid:1.2.3.sta|A1'], own)).toBe(false);
    expect(pdqNamesForeignIdentifier(['urn:tessera:enterprise-id|e1'], own)).toBe(false);
    expect(pdqNamesForeignIdentifier(['urn:oid:9.9.riv|R1'], own)).toBe(true);
    expect(pdqNamesForeignIdentifier(['urn:oid:1.2.3.sta|A1,urn:oid:9.9.riv|R1'], own)).toBe(true);
    expect(pdqNamesForeignIdentifier(['urn:oid:1.2.3.sta|A1', 'urn:oid:9.9.riv|R1'], own)).toBe(true);
    expect(pdqNamesForeignIdentifier(['R1'], own)).toBe(true); // a bare value may be anyone's
    expect(pdqNamesForeignIdentifier(['|R1'], own)).toBe(true);
    expect(pdqNamesForeignIdentifier(['urn:oid:1.2.3.sta|A1'], [])).toBe(true);
  });

  it('$match: foreign when the Patient names an identifier that is not own', () => {
    const body = (identifier: unknown) => ({
      resourceType: 'Parameters',
      parameter: [{ name: 'resource', resource: { resourceType: 'Patient', identifier } }],
    });
    expect(matchNamesForeignIdentifier(body(undefined), own)).toBe(false);
    expect(matchNamesForeignIdentifier({ resourceType: 'Parameters' }, own)).toBe(false);
    expect(matchNamesForeignIdentifier(body([{ system: own[0], value: 'A1' }]), own)).toBe(false);
    expect(matchNamesForeignIdentifier(body([{ system: 'urn:oid:9.9.riv', value: 'R1' }]), own)).toBe(true);
    expect(matchNamesForeignIdentifier(body([{ value: 'R1' }]), own)).toBe(true);
    expect(matchNamesForeignIdentifier(body([{ system: 7, value: 'R1' }]), own)).toBe(true);
    expect(
      matchNamesForeignIdentifier(
        body([
          { system: own[0], value: 'A1' },
          { system: 'x', value: 'R1' },
        ]),
        own,
      ),
    ).toBe(true);
  });
});
