import type {
  ClinicalDocument,
  Encounter,
  EncounterClass,
  LabResult,
  Practitioner,
  Region,
} from './population.types';
import { daysToIso } from './calendar.util';
import { regionProfile } from './region-profile.data';
import { hashSeed, SeededRandom } from './seeded-random.util';

/** What the encounter builder needs from the running population generator. */
export interface EncounterContext {
  readonly referenceDays: number;
  readonly clinical: { readonly documents: boolean; readonly results: boolean };
  readonly seed: number;
  readonly region: Region;
  nextVisitNumber(institutionId: string): string;
}

const DAY_MS = 86_400_000;
const STAFF_PER_INSTITUTION = 24;

/** LOINC document types (FHIR DocumentReference.type) used per encounter class. */
const DOCUMENT_TYPES: Readonly<Record<EncounterClass, { code: string; display: string }>> = {
  IMP: { code: '18842-5', display: 'Discharge summary' },
  EMER: { code: '34111-5', display: 'Emergency department Note' },
  AMB: { code: '11488-4', display: 'Consult note' },
};

/** Common chemistry/haematology tests: LOINC code, UCUM unit, reference interval. */
const LAB_TESTS: readonly {
  code: string;
  display: string;
  unit: string;
  low: number;
  high: number;
  decimals: number;
}[] = [
  {
    code: '2345-7',
    display: 'Glucose [Mass/volume] in Serum or Plasma',
    unit: 'mg/dL',
    low: 70,
    high: 99,
    decimals: 0,
  },
  {
    code: '718-7',
    display: 'Hemoglobin [Mass/volume] in Blood',
    unit: 'g/dL',
    low: 12,
    high: 17.5,
    decimals: 1,
  },
  {
    code: '2160-0',
    display: 'Creatinine [Mass/volume] in Serum or Plasma',
    unit: 'mg/dL',
    low: 0.6,
    high: 1.3,
    decimals: 2,
  },
  {
    code: '2823-3',
    display: 'Potassium [Moles/volume] in Serum or Plasma',
    unit: 'mmol/L',
    low: 3.5,
    high: 5.1,
    decimals: 1,
  },
  {
    code: '2951-2',
    display: 'Sodium [Moles/volume] in Serum or Plasma',
    unit: 'mmol/L',
    low: 135,
    high: 145,
    decimals: 0,
  },
  {
    code: '6690-2',
    display: 'Leukocytes [#/volume] in Blood by Automated count',
    unit: '10*3/uL',
    low: 4.5,
    high: 11,
    decimals: 1,
  },
];

const WARDS = ['4W', '5E', 'ICU', 'MAT', 'PED', '3N'];
const CLINICS = ['CARD', 'ORTH', 'GI', 'FAM', 'ENDO', 'DERM'];

/** The k-th attending physician of an institution: a stable, invented person. */
function practitioner(seed: number, region: Region, institutionId: string, k: number): Practitioner {
  const rng = new SeededRandom(hashSeed(seed, institutionId, 'staff', k));
  const profile = regionProfile(region);
  const sex = rng.chance(0.5) ? 'M' : 'F';
  return {
    id: `DR${String(1000 + k)}`,
    family: profile.family(rng).family,
    given: profile.given(rng, sex).given,
  };
}

/** YYYY-MM-DDThh:mm:ssZ for whole-minute UTC instants. */
function iso(ms: number): string {
  const day = Math.floor(ms / DAY_MS);
  const minutes = Math.floor((ms - day * DAY_MS) / 60_000);
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return `${daysToIso(day)}T${h < 10 ? '0' : ''}${h}:${m < 10 ? '0' : ''}${m}:00Z`;
}

/**
 * `count` encounters of one source record, in date order, within three years before the reference date
 * and never before birth. Classes follow HL7 v3 ActEncounterCode (IMP, AMB, EMER).
 */
export function buildEncounters(
  rng: SeededRandom,
  ctx: EncounterContext,
  inst: { readonly id: string },
  count: number,
  birthDate: string,
): Encounter[] {
  const birthDays = Math.floor(Date.parse(`${birthDate}T00:00:00Z`) / DAY_MS);
  const admits: number[] = [];
  for (let i = 0; i < count; i++) {
    const day = Math.max(birthDays, ctx.referenceDays - rng.int(1, 3 * 365));
    admits.push(day * DAY_MS + rng.int(7 * 60, 20 * 60) * 60_000);
  }
  admits.sort((a, b) => a - b);
  return admits.map((admitMs) => {
    const cls = (['AMB', 'EMER', 'IMP'] as const)[rng.weighted([0.6, 0.25, 0.15])];
    const stayMinutes =
      cls === 'AMB' ? rng.int(15, 120) : cls === 'EMER' ? rng.int(120, 720) : rng.int(1, 10) * 1440;
    const dischargeMs = admitMs + stayMinutes * 60_000;
    const location =
      cls === 'IMP'
        ? { pointOfCare: rng.pick(WARDS), room: String(rng.int(101, 499)), bed: rng.pick(['A', 'B']) }
        : cls === 'AMB'
          ? { pointOfCare: `CLINIC-${rng.pick(CLINICS)}`, room: `EX${rng.int(1, 12)}`, bed: '' }
          : { pointOfCare: 'ED', room: `ED${rng.int(1, 30)}`, bed: '' };
    const visitNumber = ctx.nextVisitNumber(inst.id);
    const documents: ClinicalDocument[] = [];
    if (ctx.clinical.documents && (cls !== 'AMB' || rng.chance(0.5))) {
      const t = DOCUMENT_TYPES[cls];
      documents.push({
        documentId: `${visitNumber}-D1`,
        typeCode: t.code,
        typeDisplay: t.display,
        date: iso(dischargeMs),
        text: `${t.display} (synthetic). Encounter ${visitNumber}. Patient seen at ${location.pointOfCare}; stable at discharge.`,
      });
    }
    const results: LabResult[] = [];
    if (ctx.clinical.results) {
      const n = rng.int(0, 3);
      for (let i = 0; i < n; i++) {
        const test = rng.pick(LAB_TESTS);
        const span = test.high - test.low;
        const value = Number((test.low - span * 0.2 + rng.next() * span * 1.4).toFixed(test.decimals));
        results.push({
          resultId: `${visitNumber}-R${i + 1}`,
          code: test.code,
          display: test.display,
          value,
          unit: test.unit,
          referenceRange: `${test.low}-${test.high}`,
          effective: iso(admitMs + rng.int(30, 240) * 60_000),
        });
      }
    }
    return {
      visitNumber,
      class: cls,
      admit: iso(admitMs),
      discharge: iso(dischargeMs),
      location,
      attending: practitioner(ctx.seed, ctx.region, inst.id, rng.int(0, STAFF_PER_INSTITUTION - 1)),
      documents,
      results,
    };
  });
}
