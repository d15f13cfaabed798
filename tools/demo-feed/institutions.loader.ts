import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

/*
 * The demo region's institutions (deploy/demo-region/institutions.yaml), reduced to what a feed
 * sender needs: MSH-4 sending facility codes, the PID-3.4 assigning authority namespace of its
 * patient ids, its default charset (MSH-18, HL7 table 0211) and its ACK mode.
 */

export interface DemoInstitution {
  readonly id: string;
  readonly name: string;
  /** MSH-4.1 values; the first is the main one (ADT), a second one is used for lab results when present. */
  readonly sendingFacilities: readonly string[];
  /** PID-3.4.1 namespace of the default assigning authority. */
  readonly assigningAuthority: string;
  /** HL7 table 0211 value, written to MSH-18. */
  readonly charset: string;
  readonly ackMode: 'original' | 'enhanced' | 'message';
}

interface RawInstitution {
  readonly id?: unknown;
  readonly name?: unknown;
  readonly sendingFacilities?: unknown;
  readonly assigningAuthorities?: readonly { readonly namespace?: unknown; readonly default?: unknown }[];
  readonly feed?: { readonly ackMode?: unknown; readonly defaultCharset?: unknown };
}

/** Parses institutions.yaml text; throws naming the institution and key when something is missing. */
export function parseInstitutionsYaml(text: string): DemoInstitution[] {
  const doc = parse(text) as { institutions?: readonly RawInstitution[] } | null;
  const list = doc?.institutions;
  if (!Array.isArray(list) || list.length === 0) throw new Error('institutions.yaml: no `institutions` list');
  return list.map((raw: RawInstitution, index): DemoInstitution => {
    const where = `institutions.yaml: institutions[${index}]`;
    if (typeof raw.id !== 'string' || raw.id === '') throw new Error(`${where}: missing id`);
    const facilities = raw.sendingFacilities;
    if (
      !Array.isArray(facilities) ||
      facilities.length === 0 ||
      !facilities.every((f) => typeof f === 'string')
    ) {
      throw new Error(`${where} (${raw.id}): sendingFacilities must be a non-empty list of strings`);
    }
    const authorities = raw.assigningAuthorities ?? [];
    const authority = authorities.find((a) => a.default === true) ?? authorities[0];
    if (authority === undefined || typeof authority.namespace !== 'string') {
      throw new Error(`${where} (${raw.id}): assigningAuthorities needs a namespace`);
    }
    const ackMode = raw.feed?.ackMode ?? 'original';
    if (ackMode !== 'original' && ackMode !== 'enhanced' && ackMode !== 'message') {
      throw new Error(`${where} (${raw.id}): feed.ackMode must be original, enhanced or message`);
    }
    const charset = raw.feed?.defaultCharset ?? 'UNICODE UTF-8';
    if (typeof charset !== 'string')
      throw new Error(`${where} (${raw.id}): feed.defaultCharset must be a string`);
    return {
      id: raw.id,
      name: typeof raw.name === 'string' ? raw.name : raw.id,
      sendingFacilities: facilities,
      assigningAuthority: authority.namespace,
      charset,
      ackMode,
    };
  });
}

export function loadInstitutions(file: string): DemoInstitution[] {
  return parseInstitutionsYaml(readFileSync(file, 'utf8'));
}

export const DEFAULT_INSTITUTIONS_FILE = 'deploy/demo-region/institutions.yaml';

/**
 * deploy/demo-region/institutions.yaml, searched upwards from `fromDir` (works from the sources and
 * from dist/); falls back to the path relative to the working directory.
 */
export function findInstitutionsFile(fromDir: string): string {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, DEFAULT_INSTITUTIONS_FILE);
    if (existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) return path.resolve(DEFAULT_INSTITUTIONS_FILE);
  }
}
