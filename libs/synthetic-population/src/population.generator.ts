import { CN_HOMOPHONES, NICKNAMES } from './name-lists.data';
import { daysToIso, isoToDays } from './calendar.util';
import { buildEncounters } from './encounter.generator';
import type {
  CorruptionKind,
  CorruptionRates,
  Demographics,
  HardCaseRates,
  InstitutionConfig,
  NameScript,
  PersonWithRecords,
  PopulationOptions,
  Region,
  Sex,
  SourceDemographics,
  SourceRecord,
  TruthPerson,
} from './population.types';
import { regionProfile, type RegionProfile } from './region-profile.data';
import { hashSeed, SeededRandom } from './seeded-random.util';
import { applyDigitTypo, applyTypo, capitalize, toAscii } from './text-corruption.util';

export const DEFAULT_CORRUPTION_RATES: CorruptionRates = {
  typoFamily: 0.05,
  typoGiven: 0.05,
  nickname: 0.2,
  swappedNames: 0.02,
  birthDateTransposed: 0.03,
  birthYearOff: 0.02,
  moved: 0.12,
  phoneChanged: 0.1,
  marriedSurname: 0.06,
  hyphenatedSurname: 0.02,
  nationalIdTypo: 0.02,
  insuranceChanged: 0.1,
  missingBirthDate: 0.01,
  missingSex: 0.02,
  missingAddress: 0.05,
  missingPhone: 0.1,
  missingNationalId: 0.35,
  missingInsuranceId: 0.3,
  missingGiven: 0.005,
};

export const DEFAULT_HARD_CASE_RATES: HardCaseRates = {
  coupleHousehold: 0.2,
  familyHousehold: 0.22,
  twinHousehold: 0.03,
  commonName: 0.02,
  placeholder: 0.01,
  duplicateAtInstitution: 0.02,
};

export const DEFAULT_VISITS_PER_PERSON: readonly number[] = [0.35, 0.25, 0.15, 0.1, 0.07, 0.05, 0.03];
const DEFAULT_REFERENCE_DATE = '2025-01-01';

export interface ResolvedPopulationOptions {
  readonly seed: number;
  readonly persons: number;
  readonly region: Region;
  readonly institutions: readonly ResolvedInstitution[];
  readonly visitsPerPerson: readonly number[];
  readonly homeInstitutionAffinity: number;
  readonly corruption: CorruptionRates;
  readonly hardCases: HardCaseRates;
  readonly clinical: { readonly documents: boolean; readonly results: boolean };
  readonly referenceDate: string;
}

export interface ResolvedInstitution {
  readonly id: string;
  readonly assigningAuthority: string;
  readonly nameScript: NameScript;
  readonly upperCaseNames: boolean;
  readonly asciiOnly: boolean;
  /** 0..3: how this institution formats phone numbers. */
  readonly phoneStyle: number;
  readonly dashedNationalId: boolean;
}

export interface SyntheticPopulation {
  readonly options: ResolvedPopulationOptions;
  /** Streams each person with all of their source records (placeholders come as their own persons). */
  persons(): Generator<PersonWithRecords>;
  /** Streams source records; memory stays bounded whatever the population size. */
  records(): Generator<SourceRecord>;
  /** Streams every unordered pair of record ids that belong to the same person (ground truth). */
  truthPairs(): Generator<readonly [string, string]>;
  /** Convenience for small populations: everything in arrays. */
  materialize(): { readonly persons: readonly TruthPerson[]; readonly records: readonly SourceRecord[] };
}

function resolveInstitution(region: Region, inst: InstitutionConfig, index: number): ResolvedInstitution {
  const h = hashSeed('institution-style', inst.id);
  // By default every third CN institution (2nd, 5th, …) keeps names in pinyin, the others in Hanzi.
  const nameScript: NameScript =
    region === 'cn' ? (inst.nameScript ?? (index % 3 === 1 ? 'pinyin' : 'hanzi')) : 'latin';
  return {
    id: inst.id,
    assigningAuthority: inst.assigningAuthority,
    nameScript,
    upperCaseNames: inst.upperCaseNames ?? (h >>> 3) % 2 === 0,
    asciiOnly: inst.asciiOnly ?? (h >>> 5) % 3 === 0,
    phoneStyle: (h >>> 7) % 4,
    dashedNationalId: (h >>> 9) % 2 === 0,
  };
}

export function resolvePopulationOptions(options: PopulationOptions): ResolvedPopulationOptions {
  if (!Number.isInteger(options.persons) || options.persons < 0)
    throw new Error('persons must be a non-negative integer');
  if (options.institutions.length === 0) throw new Error('at least one institution is required');
  const ids = new Set(options.institutions.map((i) => i.id));
  if (ids.size !== options.institutions.length) throw new Error('institution ids must be unique');
  const seed = typeof options.seed === 'number' ? options.seed >>> 0 : hashSeed(options.seed);
  return {
    seed,
    persons: options.persons,
    region: options.region,
    institutions: options.institutions.map((inst, index) => resolveInstitution(options.region, inst, index)),
    visitsPerPerson: options.visitsPerPerson ?? DEFAULT_VISITS_PER_PERSON,
    homeInstitutionAffinity: options.homeInstitutionAffinity ?? 0.5,
    corruption: { ...DEFAULT_CORRUPTION_RATES, ...options.corruption },
    hardCases: { ...DEFAULT_HARD_CASE_RATES, ...options.hardCases },
    clinical: {
      documents: options.clinical?.documents ?? false,
      results: options.clinical?.results ?? false,
    },
    referenceDate: options.referenceDate ?? DEFAULT_REFERENCE_DATE,
  };
}

/**
 * A seeded, reproducible synthetic population with ground truth. Nothing is generated until one of
 * the streams is iterated, and each iteration regenerates from the seed, so the same options always
 * give the same persons and records, in the same order.
 *
 * Households are generated one at a time from their own seed (seed, household index), so a
 * population of N persons is a prefix of one of 2N persons with the same seed.
 */
export function generatePopulation(options: PopulationOptions): SyntheticPopulation {
  const resolved = resolvePopulationOptions(options);
  const persons = (): Generator<PersonWithRecords> => new PopulationRun(resolved).run();
  return {
    options: resolved,
    persons,
    *records() {
      for (const p of persons()) yield* p.records;
    },
    *truthPairs() {
      for (const p of persons()) {
        const ids = p.records.map((r) => r.recordId);
        for (let i = 0; i < ids.length; i++)
          for (let j = i + 1; j < ids.length; j++) yield [ids[i], ids[j]] as const;
      }
    },
    materialize() {
      const all = Array.from(persons());
      return { persons: all.map((p) => p.person), records: all.flatMap((p) => p.records) };
    },
  };
}

/** How the institution's system stores a Latin/pinyin name: maybe ASCII-folded, maybe upper case. */
function styleName(inst: ResolvedInstitution, name: string): string {
  if (inst.nameScript === 'hanzi') return name;
  const ascii = inst.asciiOnly ? toAscii(name) : name;
  return inst.upperCaseNames ? ascii.toUpperCase() : ascii;
}

/** Bijective scramble of a counter into `modulus` (a power of ten): distinct counters give distinct numbers. */
function scramble(counter: number, multiplier: number, offset: number, modulus: number): number {
  // multiplier is odd and not a multiple of 5, hence coprime with 10^k: the map is a bijection.
  return Number((BigInt(counter) * BigInt(multiplier) + BigInt(offset)) % BigInt(modulus));
}

interface Member {
  readonly sex: Sex;
  readonly family: string;
  readonly familyPinyin?: string;
  readonly given: string;
  readonly givenPinyin?: string;
  readonly middle?: string;
  readonly birthDays: number;
  readonly kind: 'regular' | 'twin';
  readonly twinIndex?: number;
  readonly ownPhone: boolean;
}

class PopulationRun {
  private personSeq = 0;
  private placeholderSeq = 0;
  private readonly mrnCounters = new Map<string, number>();
  private readonly visitCounters = new Map<string, number>();
  private readonly profile: RegionProfile;
  private readonly refDays: number;
  private readonly offsets: {
    readonly nationalId: number;
    readonly insurance: number;
    readonly visit: number;
  };

  constructor(private readonly o: ResolvedPopulationOptions) {
    this.profile = regionProfile(o.region);
    this.refDays = isoToDays(o.referenceDate);
    this.offsets = {
      nationalId: hashSeed(o.seed, 'national-id') % 100_000_000,
      insurance: hashSeed(o.seed, 'insurance') % 1_000_000_000,
      visit: hashSeed(o.seed, 'visit') % 1_000_000_000,
    };
  }

  *run(): Generator<PersonWithRecords> {
    for (let household = 0; this.personSeq < this.o.persons; household++) {
      yield* this.household(household);
    }
  }

  private *household(index: number): Generator<PersonWithRecords> {
    const rng = new SeededRandom(hashSeed(this.o.seed, 'household', index));
    const hc = this.o.hardCases;
    const remaining = this.o.persons - this.personSeq;
    const kind = rng.weighted([
      Math.max(0, 1 - hc.coupleHousehold - hc.familyHousehold - hc.twinHousehold),
      hc.coupleHousehold,
      hc.familyHousehold,
      hc.twinHousehold,
    ]);
    const householdId = `H${String(index).padStart(7, '0')}`;
    const surname = this.profile.family(rng);
    const address = this.profile.address(rng);
    const phone = this.profile.phone(rng, address);
    const members = this.householdMembers(rng, kind, surname).slice(0, remaining);

    const adultGiven = members[0]?.given;
    for (const m of members) {
      const personId = `P${String(this.personSeq++).padStart(8, '0')}`;
      const twinOf =
        m.kind === 'twin'
          ? `P${String(this.personSeq - 1 + (m.twinIndex === 0 ? 1 : -1)).padStart(8, '0')}`
          : undefined;
      const sexDigitSeq = rng.int(1, 999);
      const birthDate = daysToIso(m.birthDays);
      const demographics: Demographics = {
        family: m.family,
        given: m.given,
        ...(m.middle !== undefined ? { middle: m.middle } : {}),
        ...(m.familyPinyin !== undefined
          ? { familyPinyin: m.familyPinyin, givenPinyin: m.givenPinyin ?? '' }
          : {}),
        sex: m.sex,
        birthDate,
        address,
        phone: m.ownPhone ? this.profile.phone(rng, address) : phone,
        nationalId: this.profile.nationalId(
          rng,
          scramble(this.personSeq, 48_271, this.offsets.nationalId, 100_000_000),
          birthDate,
          m.sex,
          sexDigitSeq,
        ),
        insuranceId: this.profile.insuranceId(
          scramble(this.personSeq, 69_621, this.offsets.insurance, 1_000_000_000),
        ),
      };
      const person: TruthPerson = {
        personId,
        householdId,
        region: this.o.region,
        kind: m.kind,
        placeholder: false,
        ...(twinOf !== undefined && twinOf !== personId ? { twinOf } : {}),
        demographics,
      };
      yield { person, records: this.sourceRecords(rng, person) };

      if (rng.chance(hc.placeholder))
        yield this.placeholder(rng, householdId, demographics, adultGiven ?? m.given);
    }
  }

  private householdMembers(
    rng: SeededRandom,
    kind: number,
    surname: ReturnType<RegionProfile['family']>,
  ): Member[] {
    const p = this.profile;
    const adultBirth = (minAge: number, maxAge: number): number =>
      this.refDays - rng.int(Math.round(minAge * 365.25), Math.round(maxAge * 365.25));
    const adult = (sex: Sex, birthDays: number, family = surname): Member => {
      const name = p.given(rng, sex);
      return {
        sex,
        ...family,
        ...name,
        ...(p.middle(rng, sex, name.given) ?? {}),
        birthDays,
        kind: 'regular',
        ownPhone: rng.chance(0.5),
      };
    };
    if (kind === 0) {
      const sex: Sex = rng.chance(0.5) ? 'M' : 'F';
      const single = adult(sex, adultBirth(18, 95));
      if (rng.chance(this.o.hardCases.commonName)) return [{ ...single, ...p.commonName(sex) }];
      return [single];
    }
    const headSex: Sex = rng.chance(0.5) ? 'M' : 'F';
    const headBirth = adultBirth(kind === 1 ? 22 : 26, kind === 1 ? 90 : 55);
    const head = adult(headSex, headBirth);
    const spouseSex: Sex = headSex === 'M' ? 'F' : 'M';
    const spouseFamily = p.spouseKeepsSurname ? p.family(rng) : surname;
    const members: Member[] = [head];
    if (kind === 1 || rng.chance(0.8)) {
      members.push(
        adult(spouseSex, Math.min(this.refDays - 6600, headBirth + rng.int(-1500, 1500)), spouseFamily),
      );
    }
    if (kind === 1) return members;
    const usedGiven = new Set(members.map((m) => m.given));
    const child = (birthDays: number, kindOf: 'regular' | 'twin', twinIndex?: number): Member => {
      const sex: Sex = rng.chance(0.5) ? 'M' : 'F';
      let name = p.given(rng, sex);
      for (let tries = 0; usedGiven.has(name.given) && tries < 20; tries++) name = p.given(rng, sex);
      usedGiven.add(name.given);
      return {
        sex,
        ...surname,
        ...name,
        ...(p.middle(rng, sex, name.given) ?? {}),
        birthDays,
        kind: kindOf,
        ...(twinIndex !== undefined ? { twinIndex } : {}),
        ownPhone: false,
      };
    };
    const childBirth = (): number =>
      Math.min(this.refDays - rng.int(1, 400), headBirth + rng.int(20 * 365, 40 * 365));
    if (kind === 3) {
      const twinsBirth = childBirth();
      members.push(child(twinsBirth, 'twin', 0), child(twinsBirth, 'twin', 1));
      if (rng.chance(0.3)) members.push(child(childBirth(), 'regular'));
      return members;
    }
    const children = rng.int(1, 3);
    for (let i = 0; i < children; i++) {
      let b = childBirth();
      // siblings who are not twins are born at least a year apart
      for (
        let tries = 0;
        members.some((m) => Math.abs(m.birthDays - b) < 365 && m !== head) && tries < 10;
        tries++
      )
        b = childBirth();
      members.push(child(b, 'regular'));
    }
    return members;
  }

  private nextMrn(institutionId: string): string {
    const n = this.mrnCounters.get(institutionId) ?? 0;
    this.mrnCounters.set(institutionId, n + 1);
    const offset = hashSeed(this.o.seed, 'mrn', institutionId) % 100_000_000;
    return String(scramble(n, 7_919, offset, 100_000_000)).padStart(8, '0');
  }

  nextVisitNumber(institutionId: string): string {
    const n = this.visitCounters.get(institutionId) ?? 0;
    this.visitCounters.set(institutionId, n + 1);
    return `V${String(scramble(n, 104_729, this.offsets.visit, 1_000_000_000)).padStart(9, '0')}`;
  }

  private sourceRecords(rng: SeededRandom, person: TruthPerson): SourceRecord[] {
    const insts = this.o.institutions;
    const visits = 1 + rng.weighted(this.o.visitsPerPerson);
    const home = rng.pick(insts);
    const perInstitution = new Map<ResolvedInstitution, number>();
    for (let v = 0; v < visits; v++) {
      const inst = v === 0 || rng.chance(this.o.homeInstitutionAffinity) ? home : rng.pick(insts);
      perInstitution.set(inst, (perInstitution.get(inst) ?? 0) + 1);
    }
    const plan: [ResolvedInstitution, number][] = Array.from(perInstitution.entries());
    if (rng.chance(this.o.hardCases.duplicateAtInstitution)) plan.push([home, 1]);
    return plan.map(([inst, count]) => {
      const mrn = this.nextMrn(inst.id);
      const { demographics, corruptions } = this.corrupt(rng, person, inst);
      return {
        recordId: `${inst.id}:${mrn}`,
        personId: person.personId,
        institutionId: inst.id,
        assigningAuthority: inst.assigningAuthority,
        mrn,
        demographics,
        corruptions,
        placeholder: false,
        encounters: buildEncounters(rng, this, inst, count, person.demographics.birthDate),
      };
    });
  }

  /** Reference date as days since epoch (used by the encounter builder). */
  get referenceDays(): number {
    return this.refDays;
  }
  get clinical(): ResolvedPopulationOptions['clinical'] {
    return this.o.clinical;
  }
  get seed(): number {
    return this.o.seed;
  }
  get region(): Region {
    return this.o.region;
  }

  /** A copy of the true demographics as one institution recorded them, with realistic errors. */
  private corrupt(
    rng: SeededRandom,
    person: TruthPerson,
    inst: ResolvedInstitution,
  ): { demographics: SourceDemographics; corruptions: CorruptionKind[] } {
    const c = this.o.corruption;
    const d = person.demographics;
    const applied: CorruptionKind[] = [];
    const pinyin = inst.nameScript === 'pinyin';
    const latinLike = inst.nameScript !== 'hanzi';
    let family = pinyin ? capitalize(d.familyPinyin ?? d.family) : d.family;
    let given: string | undefined = pinyin ? capitalize(d.givenPinyin ?? d.given) : d.given;
    let middle = d.middle;

    const ageYears = (this.refDays - isoToDays(d.birthDate)) / 365.25;
    if (this.o.region !== 'cn' && d.sex === 'F' && ageYears >= 20 && rng.chance(c.marriedSurname)) {
      let other = this.profile.family(rng).family;
      while (other === family) other = this.profile.family(rng).family;
      family = other;
      applied.push('married-surname');
    }
    if (this.o.region !== 'cn' && rng.chance(c.hyphenatedSurname)) {
      family = `${family}-${this.profile.family(rng).family}`;
      applied.push('hyphenated-surname');
    }
    const nicknames = NICKNAMES[d.given];
    if (nicknames && rng.chance(c.nickname)) {
      given = rng.pick(nicknames);
      applied.push('nickname');
    }
    if (latinLike && rng.chance(c.typoFamily)) {
      family = applyTypo(rng, family);
      applied.push('typo-family');
    }
    if (rng.chance(c.typoGiven) && given !== undefined) {
      if (latinLike) {
        given = applyTypo(rng, given);
        applied.push('typo-given');
      } else {
        const chars = Array.from(given);
        const candidates = chars.map((ch, i) => [i, CN_HOMOPHONES.get(ch)] as const).filter(([, h]) => h);
        if (candidates.length > 0) {
          const [i, h] = rng.pick(candidates);
          chars[i] = h!.hanzi;
          given = chars.join('');
          applied.push('homophone-given');
        }
      }
    }
    if (rng.chance(c.swappedNames) && given !== undefined) {
      [family, given] = [given, family];
      applied.push('swapped-names');
    }
    if (rng.chance(c.missingGiven)) {
      given = undefined;
      applied.push('missing-given');
    }
    if (middle !== undefined && this.o.region === 'us') {
      const r = rng.next();
      if (r < 0.3) middle = middle[0];
      else if (r < 0.5) middle = undefined;
    }
    family = styleName(inst, family);
    given = given === undefined ? undefined : styleName(inst, given);
    middle = middle === undefined ? undefined : styleName(inst, middle);

    let birthDate: string | undefined = d.birthDate;
    const [y, m, day] = [birthDate.slice(0, 4), birthDate.slice(5, 7), birthDate.slice(8, 10)];
    if (Number(day) <= 12 && day !== m && rng.chance(c.birthDateTransposed)) {
      birthDate = `${y}-${day}-${m}`;
      applied.push('birth-date-transposed');
    } else if (rng.chance(c.birthYearOff)) {
      const year = Number(y) + (rng.chance(0.5) ? 1 : -1);
      birthDate = `${year}-${m}-${m === '02' && day === '29' ? '28' : day}`;
      applied.push('birth-year-off');
    }
    if (rng.chance(c.missingBirthDate)) {
      birthDate = undefined;
      applied.push('missing-birth-date');
    }

    let sex: Sex | 'U' | undefined = d.sex;
    if (rng.chance(c.missingSex)) {
      sex = rng.chance(0.5) ? 'U' : undefined;
      applied.push('missing-sex');
    }

    let address: SourceDemographics['address'] = d.address;
    if (rng.chance(c.moved)) {
      address = this.profile.address(rng);
      applied.push('moved');
    }
    if (rng.chance(c.missingAddress)) {
      address = undefined;
      applied.push('missing-address');
    }

    let phone: string | undefined = d.phone;
    if (rng.chance(c.phoneChanged)) {
      phone = this.profile.phone(rng, address ?? d.address);
      applied.push('phone-changed');
    }
    if (rng.chance(c.missingPhone)) {
      phone = undefined;
      applied.push('missing-phone');
    }

    let nationalId: string | undefined = d.nationalId;
    if (rng.chance(c.missingNationalId)) {
      nationalId = undefined;
      applied.push('missing-national-id');
    } else if (rng.chance(c.nationalIdTypo)) {
      nationalId = applyDigitTypo(rng, nationalId);
      applied.push('national-id-typo');
    }

    let insuranceId: string | undefined = d.insuranceId;
    if (rng.chance(c.insuranceChanged)) {
      insuranceId = this.profile.insuranceId(rng.int(0, 999_999_999));
      applied.push('insurance-changed');
    }
    if (rng.chance(c.missingInsuranceId)) {
      insuranceId = undefined;
      applied.push('missing-insurance-id');
    }

    const demographics: SourceDemographics = {
      nameScript: inst.nameScript,
      family,
      ...(given !== undefined ? { given } : {}),
      ...(middle !== undefined ? { middle } : {}),
      ...(sex !== undefined ? { sex } : {}),
      ...(birthDate !== undefined ? { birthDate } : {}),
      ...(address !== undefined ? { address } : {}),
      ...(phone !== undefined ? { phone: this.profile.formatPhone(phone, inst.phoneStyle) } : {}),
      ...(nationalId !== undefined
        ? { nationalId: this.profile.formatNationalId(nationalId, inst.dashedNationalId) }
        : {}),
      ...(insuranceId !== undefined ? { insuranceId } : {}),
    };
    return { demographics, corruptions: applied };
  }

  /**
   * A placeholder identity, as registered when the real one is not (yet) known: a newborn ("Baby Boy
   * Smith", "王芳之子"), an unidentified emergency patient ("John Doe", "无名氏", "Unknown"), or a test
   * patient. Each is its own truth person and must never be linked to anyone.
   */
  private placeholder(
    rng: SeededRandom,
    householdId: string,
    parent: Demographics,
    parentGiven: string,
  ): PersonWithRecords {
    const personId = `X${String(this.placeholderSeq++).padStart(8, '0')}`;
    const inst = rng.pick(this.o.institutions);
    const pinyin = inst.nameScript === 'pinyin';
    const cn = this.o.region === 'cn';
    const kind = rng.weighted([0.4, 0.25, 0.2, 0.15]);
    const sex: Sex = rng.chance(0.5) ? 'M' : 'F';
    let family: string;
    let given: string | undefined;
    let birthDate: string | undefined;
    let address: Demographics['address'] | undefined;
    let phone: string | undefined;
    switch (kind) {
      case 0: // newborn
        family =
          cn && !pinyin ? parent.family : pinyin ? capitalize(parent.familyPinyin ?? '') : parent.family;
        given =
          cn && !pinyin
            ? `${parentGiven}${sex === 'M' ? '之子' : '之女'}`
            : sex === 'M'
              ? 'Baby Boy'
              : 'Baby Girl';
        birthDate = daysToIso(this.refDays - rng.int(0, 30));
        address = parent.address;
        phone = parent.phone;
        break;
      case 1: // unidentified
        family = cn && !pinyin ? '无名氏' : 'Doe';
        given = cn && !pinyin ? undefined : sex === 'M' ? 'John' : 'Jane';
        birthDate = rng.chance(0.5) ? `${1940 + rng.int(0, 60)}-01-01` : undefined;
        break;
      case 2:
        family = cn && !pinyin ? '未知' : rng.pick(['Unknown', 'UNKNOWN', 'Unk']);
        given = cn && !pinyin ? '未知' : rng.pick(['Unknown', 'Patient', 'Male', 'Female']);
        birthDate = rng.chance(0.5) ? '1900-01-01' : undefined;
        break;
      default:
        family = cn && !pinyin ? '测试' : rng.pick(['Test', 'Patient', 'Zztest']);
        given = cn && !pinyin ? '患者' : rng.pick(['Patient', 'Test', 'Do Not Use']);
        birthDate = rng.pick(['1900-01-01', '2000-01-01', '1980-01-01']);
        address = this.profile.address(rng);
    }
    const mrn = this.nextMrn(inst.id);
    const record: SourceRecord = {
      recordId: `${inst.id}:${mrn}`,
      personId,
      institutionId: inst.id,
      assigningAuthority: inst.assigningAuthority,
      mrn,
      demographics: {
        nameScript: inst.nameScript,
        family: styleName(inst, family),
        ...(given !== undefined ? { given: styleName(inst, given) } : {}),
        sex: kind === 2 ? 'U' : sex,
        ...(birthDate !== undefined ? { birthDate } : {}),
        ...(address !== undefined ? { address } : {}),
        ...(phone !== undefined ? { phone: this.profile.formatPhone(phone, inst.phoneStyle) } : {}),
      },
      corruptions: [],
      placeholder: true,
      encounters: buildEncounters(rng, this, inst, 1, birthDate ?? '1900-01-01'),
    };
    const person: TruthPerson = {
      personId,
      householdId,
      region: this.o.region,
      kind: 'placeholder',
      placeholder: true,
      demographics: {
        family,
        given: given ?? '',
        sex,
        birthDate: birthDate ?? '1900-01-01',
        address: address ?? parent.address,
        phone: phone ?? '',
        nationalId: '',
        insuranceId: '',
      },
    };
    return { person, records: [record] };
  }
}
