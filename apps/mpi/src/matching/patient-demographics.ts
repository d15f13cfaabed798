import type { Identifier, Patient } from '@medplum/fhirtypes';
import { normalizePhone } from '@tessera/matching';
import type { MatchInput, RegionConfig } from '@tessera/matching';

/**
 * HL7 v2 table 0203 identifier type codes (as carried in FHIR Identifier.type by the v2-to-FHIR
 * mapping) that are national person identifiers (SS: Social Security number, NI: national unique
 * individual identifier; NNxxx: national person identifier of country xxx).
 */
const NATIONAL_ID_TYPES = new Set(['SS', 'NI']);
/** Table 0203 codes of health-insurance member identifiers (MC Medicare, MA Medicaid, SN subscriber, JHN jurisdictional health number, MB member number). */
const INSURANCE_ID_TYPES = new Set(['MC', 'MA', 'SN', 'JHN', 'MB']);

function typeCodes(identifier: Identifier): string[] {
  return (identifier.type?.coding ?? []).map((c) => c.code ?? '').filter((c) => c !== '');
}

function findIdentifier(patient: Patient, accept: (code: string) => boolean): string | undefined {
  return patient.identifier?.find((i) => i.value !== undefined && typeCodes(i).some(accept))?.value;
}

/**
 * The demographics the matcher compares, read from a FHIR R4 Patient (the first official/usual name,
 * first home phone or any phone, first home address). Pure.
 */
export function demographicsOf(patient: Patient): MatchInput {
  const name = patient.name?.find((n) => n.use === 'official' || n.use === 'usual') ?? patient.name?.[0];
  const given = name?.given ?? [];
  const phone =
    patient.telecom?.find((t) => t.system === 'phone' && t.use === 'home') ??
    patient.telecom?.find((t) => t.system === 'phone');
  const address = patient.address?.find((a) => a.use === 'home') ?? patient.address?.[0];
  const nationalId = findIdentifier(patient, (c) => NATIONAL_ID_TYPES.has(c) || /^NN[A-Z]{3}$/.test(c));
  const insuranceId = findIdentifier(patient, (c) => INSURANCE_ID_TYPES.has(c));
  return {
    ...(name?.family === undefined ? {} : { family: name.family }),
    ...(given[0] === undefined ? {} : { given: given[0] }),
    ...(given[1] === undefined ? {} : { middle: given[1] }),
    ...(patient.gender === undefined ? {} : { sex: patient.gender }),
    ...(patient.birthDate === undefined ? {} : { birthDate: patient.birthDate }),
    ...(address === undefined
      ? {}
      : {
          address: {
            ...(address.line?.[0] === undefined ? {} : { line: address.line[0] }),
            ...(address.city === undefined ? {} : { city: address.city }),
            ...(address.postalCode === undefined ? {} : { postalCode: address.postalCode }),
            ...(address.country === undefined ? {} : { country: address.country }),
          },
        }),
    ...(phone?.value === undefined ? {} : { phone: phone.value }),
    ...(nationalId === undefined ? {} : { nationalId }),
    ...(insuranceId === undefined ? {} : { insuranceId }),
  };
}

/** Every phone of the Patient as a national significant number (PDQm `telecom` search column). Pure. */
export function searchPhones(patient: Patient, region: RegionConfig): string[] {
  const phones = (patient.telecom ?? [])
    .filter((t) => (t.system === 'phone' || t.system === 'sms') && t.value !== undefined)
    .map((t) => normalizePhone(t.value, region))
    .filter((p): p is string => p !== undefined && p !== '');
  return [...new Set(phones)];
}
