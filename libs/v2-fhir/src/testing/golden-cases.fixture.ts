import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import { parseHl7 } from '@tessera/hl7v2';
import { mapHl7Message } from '../message.mapper';
import type { MappingOutcome } from '../mapping.types';
import { contextForCase } from './mapping-contexts.fixture';

/** libs/v2-fhir/test-data: <case>.hl7 (synthetic messages) and <case>.expected.json (golden outcomes). */
export const GOLDEN_DIR = join(__dirname, '..', '..', 'test-data');

export function goldenCases(): string[] {
  return readdirSync(GOLDEN_DIR)
    .filter((f) => f.endsWith('.hl7'))
    .map((f) => f.slice(0, -'.hl7'.length))
    .sort();
}

export function mapGoldenCase(caseName: string): MappingOutcome {
  const text = readFileSync(join(GOLDEN_DIR, `${caseName}.hl7`), 'utf8');
  return mapHl7Message(parseHl7(text), contextForCase(caseName));
}

/** Every FHIR resource of a mapped outcome (patient, encounter, reports, observations, document, prior patient). */
export function resourcesOf(outcome: MappingOutcome): Resource[] {
  if (outcome.status !== 'mapped') return [];
  const r = outcome.result;
  return [
    r.patient,
    ...(r.encounter !== undefined ? [r.encounter] : []),
    ...r.reports,
    ...r.observations,
    ...(r.document !== undefined ? [r.document] : []),
    ...(r.merge !== undefined ? [r.merge.priorPatient] : []),
  ];
}
