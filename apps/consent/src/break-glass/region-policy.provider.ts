import { readFileSync } from 'node:fs';
import { parseRegionPolicy } from '@tessera/consent-policy';
import type { RegionPolicy } from '@tessera/consent-policy';
import type { ConsentSettings } from '../consent.config';

export const REGION_POLICY = Symbol('REGION_POLICY');

/** The region policy file, parsed once at boot (a bad file stops the service with a clear message). */
export function loadRegionPolicy(settings: Pick<ConsentSettings, 'CONSENT_REGION_POLICY_FILE'>): RegionPolicy {
  let text: string;
  try {
    text = readFileSync(settings.CONSENT_REGION_POLICY_FILE, 'utf8');
  } catch (error) {
    throw new Error(`CONSENT_REGION_POLICY_FILE cannot be read: ${(error as Error).message}`);
  }
  return parseRegionPolicy(text);
}
