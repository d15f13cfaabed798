export * from './population.types';
export { daysToIso, isoToDays } from './calendar.util';
export {
  DEFAULT_CORRUPTION_RATES,
  DEFAULT_HARD_CASE_RATES,
  DEFAULT_VISITS_PER_PERSON,
  generatePopulation,
  resolvePopulationOptions,
  type ResolvedInstitution,
  type ResolvedPopulationOptions,
  type SyntheticPopulation,
} from './population.generator';
export { buildResidentId, isValidResidentIdChecksum, residentIdCheckChar } from './resident-id.util';
export { luhnCheckDigit } from './region-profile.data';
export { hashSeed, SeededRandom } from './seeded-random.util';
export {
  CN_FAMILY,
  CN_GIVEN_FEMALE,
  CN_GIVEN_MALE,
  CN_HOMOPHONES,
  NICKNAMES,
  type HanziEntry,
} from './name-lists.data';
