export * from './matching.types';
export {
  areNicknames,
  canonicalGiven,
  containsHan,
  foldLatin,
  foldPinyin,
  formalNames,
  hanziToPinyin,
  normalizeName,
} from './name-normalization.util';
export {
  normalizeAddressLine,
  normalizeDate,
  normalizeIdentifier,
  normalizePhone,
  normalizePostalCode,
  normalizeSex,
} from './value-normalization.util';
export { normalizeRecord } from './record-normalization.util';
export {
  compareIdentifiers,
  isPlausibleSsn,
  isValidLuhn,
  nationalIdValidity,
  validateCnResidentId,
  type ResidentIdInfo,
} from './national-id.util';
export { nysiis } from './phonetic.util';
export { jaro, jaroWinkler } from './string-similarity.util';
export {
  compareAddress,
  compareBirthDate,
  compareFamily,
  compareGiven,
  comparePhone,
  compareRecords,
  compareSex,
} from './field-comparison.util';
export { blockingKeys } from './blocking.util';
export { isPlaceholderName } from './placeholder.util';
export { levelWeight, MISSING, scorePair, scoreVector, weighVector } from './fellegi-sunter.scorer';
export {
  estimateUProbabilities,
  estimateWeights,
  type CandidatePair,
  type EstimateOptions,
  type EstimateResult,
} from './weight.estimator';
export { parseRuleSet, RULE_SET_V1, RULE_SET_V2 } from './rule-set.loader';
