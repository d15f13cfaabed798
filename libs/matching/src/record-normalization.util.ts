import type { MatchInput, NormalizedRecord, RegionConfig, RuleSet } from './matching.types';
import { nationalIdValidity } from './national-id.util';
import { normalizeName } from './name-normalization.util';
import { isPlaceholderName } from './placeholder.util';
import {
  normalizeAddressLine,
  normalizeDate,
  normalizeIdentifier,
  normalizePhone,
  normalizePostalCode,
  normalizeSex,
} from './value-normalization.util';

/** Normalizes a source record once, before blocking and comparison. Pure. */
export function normalizeRecord(input: MatchInput, region: RegionConfig, ruleSet: RuleSet): NormalizedRecord {
  const family = normalizeName(input.family, 'family');
  const given = normalizeName(input.given, 'given');
  const middle = normalizeName(input.middle, 'given');
  const sex = normalizeSex(input.sex);
  const birthDate = normalizeDate(input.birthDate, region.dateOrder);
  const phone = normalizePhone(input.phone, region);
  const postalCode = normalizePostalCode(input.address?.postalCode);
  const addressLine = normalizeAddressLine(input.address?.line);
  const city = normalizeAddressLine(input.address?.city);
  const idValue = normalizeIdentifier(input.nationalId);
  const insuranceId = normalizeIdentifier(input.insuranceId);
  return {
    ...(family ? { family } : {}),
    ...(given ? { given } : {}),
    ...(middle ? { middleInitial: middle.latin[0] } : {}),
    ...(sex ? { sex } : {}),
    ...(birthDate ? { birthDate } : {}),
    ...(phone ? { phone } : {}),
    ...(postalCode ? { postalCode } : {}),
    ...(addressLine ? { addressLine } : {}),
    ...(city ? { city } : {}),
    ...(idValue
      ? {
          nationalId: {
            value: idValue,
            validity: nationalIdValidity(idValue, region.nationalIdScheme, region),
          },
        }
      : {}),
    ...(insuranceId ? { insuranceId } : {}),
    placeholder: isPlaceholderName(input.family, input.given, ruleSet.placeholderPatterns),
  };
}
