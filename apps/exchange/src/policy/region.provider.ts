import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseRegionPolicy } from '@tessera/consent-policy';
import type { RegionPolicy } from '@tessera/consent-policy';
import { parse as parseYaml } from 'yaml';

export const REGION_POLICY = Symbol('REGION_POLICY');
export const INSTITUTION_SYSTEMS = Symbol('INSTITUTION_SYSTEMS');

/** institution id → identifier systems of its patient ids (institutions.yaml assigningAuthorities). */
export type InstitutionSystems = ReadonlyMap<string, readonly string[]>;

function resolveFile(file: string): string {
  return path.isAbsolute(file) ? file : path.resolve(process.cwd(), file);
}

/** The region's consent policy, read once at boot (a bad file stops the boot with the field named). */
export function loadRegionPolicy(file: string): RegionPolicy {
  return parseRegionPolicy(readFileSync(resolveFile(file), 'utf8'));
}

export function loadInstitutionSystems(file: string): InstitutionSystems {
  const doc = parseYaml(readFileSync(resolveFile(file), 'utf8')) as {
    institutions?: { id?: unknown; assigningAuthorities?: { system?: unknown }[] }[];
  };
  const map = new Map<string, string[]>();
  for (const i of doc.institutions ?? []) {
    if (typeof i.id !== 'string') continue;
    map.set(
      i.id,
      (i.assigningAuthorities ?? []).map((a) => a.system).filter((s): s is string => typeof s === 'string'),
    );
  }
  return map;
}
