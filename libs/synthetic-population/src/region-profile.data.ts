import {
  CN_DISTRICTS,
  CN_FAMILY,
  CN_GIVEN_FEMALE,
  CN_GIVEN_MALE,
  CN_MOBILE_PREFIXES,
  CN_ROADS,
  EU_CITIES,
  EU_FAMILY,
  EU_GIVEN_FEMALE,
  EU_GIVEN_MALE,
  US_CITIES,
  US_FAMILY,
  US_GIVEN_FEMALE,
  US_GIVEN_MALE,
  US_STREETS,
  US_STREET_TYPES,
} from './name-lists.data';
import type { Address, Region, Sex } from './population.types';
import { buildResidentId } from './resident-id.util';
import type { SeededRandom } from './seeded-random.util';

export interface FamilyName {
  readonly family: string;
  readonly familyPinyin?: string;
}
export interface GivenName {
  readonly given: string;
  readonly givenPinyin?: string;
}

/** Everything region-specific the generator needs: names, addresses, phone and identifier formats. */
export interface RegionProfile {
  readonly region: Region;
  /** In CN a married woman keeps her own surname; children take the father's. */
  readonly spouseKeepsSurname: boolean;
  family(rng: SeededRandom): FamilyName;
  given(rng: SeededRandom, sex: Sex): GivenName;
  middle(rng: SeededRandom, sex: Sex, given: string): { readonly middle: string } | undefined;
  commonName(sex: Sex): FamilyName & GivenName;
  address(rng: SeededRandom): Address;
  /** E.164 */
  phone(rng: SeededRandom, near: Address): string;
  /** `unique8` is a per-person unique number in [0, 10^8). */
  nationalId(rng: SeededRandom, unique8: number, birthDate: string, sex: Sex, sequence: number): string;
  insuranceId(unique9: number): string;
  formatPhone(e164: string, style: number): string;
  formatNationalId(id: string, dashed: boolean): string;
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

/** Luhn (ISO/IEC 7812-1 annex B) check digit for a digit string. */
export function luhnCheckDigit(payload: string): string {
  let sum = 0;
  for (let i = 0; i < payload.length; i++) {
    let d = payload.charCodeAt(payload.length - 1 - i) - 48;
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
}

function pickMiddle(
  rng: SeededRandom,
  list: readonly string[],
  given: string,
  rate: number,
): { middle: string } | undefined {
  if (!rng.chance(rate)) return undefined;
  let middle = rng.pickZipf(list);
  for (let i = 0; middle === given && i < 5; i++) middle = rng.pick(list);
  return middle === given ? undefined : { middle };
}

const US: RegionProfile = {
  region: 'us',
  spouseKeepsSurname: false,
  family: (rng) => ({ family: rng.pickZipf(US_FAMILY) }),
  given: (rng, sex) => ({ given: rng.pickZipf(sex === 'M' ? US_GIVEN_MALE : US_GIVEN_FEMALE) }),
  middle: (rng, sex, given) => pickMiddle(rng, sex === 'M' ? US_GIVEN_MALE : US_GIVEN_FEMALE, given, 0.7),
  commonName: (sex) => ({ family: 'Smith', given: sex === 'M' ? 'John' : 'Mary' }),
  address(rng) {
    const city = rng.pick(US_CITIES);
    const apt = rng.chance(0.2) ? ` Apt ${rng.int(1, 30)}${rng.pick(['A', 'B', 'C'])}` : '';
    return {
      line: `${rng.int(100, 9999)} ${rng.pick(US_STREETS)} ${rng.pick(US_STREET_TYPES)}${apt}`,
      city: city.city,
      postalCode: `${city.zipPrefix}${pad(rng.int(1, 99), 2)}`,
      country: 'US',
    };
  },
  phone(rng, near) {
    const city = US_CITIES.find((c) => c.city === near.city) ?? US_CITIES[0];
    return `+1${rng.pick(city.areaCodes)}${rng.int(2, 9)}${rng.digits(2)}${rng.digits(4)}`;
  },
  // Synthetic SSN-shaped numbers in the 9xx area, which the SSA never issues as SSNs.
  nationalId: (_rng, unique8) => {
    const s = `9${pad(unique8, 8)}`;
    return `${s.slice(0, 3)}-${s.slice(3, 5)}-${s.slice(5)}`;
  },
  insuranceId: (unique9) => `W${pad(unique9, 9)}`,
  formatPhone(e164, style) {
    const n = e164.slice(2);
    const [a, b, c] = [n.slice(0, 3), n.slice(3, 6), n.slice(6)];
    switch (style) {
      case 0:
        return `(${a}) ${b}-${c}`;
      case 1:
        return `${a}-${b}-${c}`;
      case 2:
        return `+1 ${a} ${b} ${c}`;
      default:
        return n;
    }
  },
  formatNationalId: (id, dashed) => (dashed ? id : id.replace(/-/g, '')),
};

const EU: RegionProfile = {
  region: 'eu',
  spouseKeepsSurname: false,
  family: (rng) => ({ family: rng.pickZipf(EU_FAMILY) }),
  given: (rng, sex) => ({ given: rng.pickZipf(sex === 'M' ? EU_GIVEN_MALE : EU_GIVEN_FEMALE) }),
  middle: (rng, sex, given) => pickMiddle(rng, sex === 'M' ? EU_GIVEN_MALE : EU_GIVEN_FEMALE, given, 0.25),
  commonName: (sex) =>
    sex === 'M' ? { family: 'Müller', given: 'Thomas' } : { family: 'García', given: 'Maria' },
  address(rng) {
    const city = rng.pick(EU_CITIES);
    return {
      line: `${rng.pick(city.streets)} ${rng.int(1, 140)}`,
      city: city.city,
      postalCode: `${city.postalPrefix}${pad(rng.int(1, 999), 3)}`,
      country: city.country,
    };
  },
  phone(rng, near) {
    const city = EU_CITIES.find((c) => c.city === near.city) ?? EU_CITIES[0];
    return `+${city.dialCode}${rng.int(1, 7)}${rng.digits(8)}`;
  },
  // A synthetic 10-digit national number starting with 9 and ending in a Luhn check digit.
  nationalId: (_rng, unique8) => {
    const payload = `9${pad(unique8, 8)}`;
    return payload + luhnCheckDigit(payload);
  },
  insuranceId: (unique9) => `EH${pad(unique9, 9)}`,
  formatPhone(e164, style) {
    const cc = e164.slice(1, 3);
    const n = e164.slice(3);
    switch (style) {
      case 0:
        return `+${cc} ${n.slice(0, 3)} ${n.slice(3)}`;
      case 1:
        return `0${n}`;
      case 2:
        return `00${cc}${n}`;
      default:
        return `0${n.slice(0, 3)} ${n.slice(3)}`;
    }
  },
  formatNationalId: (id) => id,
};

const cnGiven = (rng: SeededRandom, sex: Sex): GivenName => {
  const list = sex === 'M' ? CN_GIVEN_MALE : CN_GIVEN_FEMALE;
  const first = rng.pickZipf(list);
  if (rng.chance(0.4)) return { given: first.hanzi, givenPinyin: first.pinyin };
  const second = rng.pickZipf(list);
  return { given: first.hanzi + second.hanzi, givenPinyin: first.pinyin + second.pinyin };
};

const CN: RegionProfile = {
  region: 'cn',
  spouseKeepsSurname: true,
  family: (rng) => {
    const f = rng.pickZipf(CN_FAMILY);
    return { family: f.hanzi, familyPinyin: f.pinyin };
  },
  given: cnGiven,
  middle: () => undefined,
  commonName: (sex) =>
    sex === 'M'
      ? { family: '王', familyPinyin: 'wang', given: '伟', givenPinyin: 'wei' }
      : { family: '王', familyPinyin: 'wang', given: '芳', givenPinyin: 'fang' },
  address(rng) {
    const d = rng.pick(CN_DISTRICTS);
    return {
      line: `${d.district}${rng.pick(CN_ROADS)}${rng.int(1, 300)}号${rng.int(1, 20)}栋${rng.int(1, 30)}0${rng.int(1, 8)}室`,
      city: d.city,
      postalCode: d.postalCode,
      country: 'CN',
    };
  },
  phone: (rng) => `+86${rng.pick(CN_MOBILE_PREFIXES)}${rng.digits(8)}`,
  nationalId: (rng, _unique8, birthDate, sex, sequence) =>
    buildResidentId(rng.pick(CN_DISTRICTS).code, birthDate, sequence, sex),
  insuranceId: (unique9) => `YB${pad(unique9, 9)}`,
  formatPhone(e164, style) {
    const n = e164.slice(3);
    switch (style) {
      case 0:
        return `${n.slice(0, 3)} ${n.slice(3, 7)} ${n.slice(7)}`;
      case 1:
        return `+86 ${n.slice(0, 3)} ${n.slice(3, 7)} ${n.slice(7)}`;
      default:
        return n;
    }
  },
  formatNationalId: (id) => id,
};

export function regionProfile(region: Region): RegionProfile {
  switch (region) {
    case 'us':
      return US;
    case 'eu':
      return EU;
    case 'cn':
      return CN;
  }
}
