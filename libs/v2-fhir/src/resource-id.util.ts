import { createHash } from 'node:crypto';

/**
 * Deterministic FHIR resource id: SHA-256 (hex, 64 characters, within FHIR's id limit of 64 of
 * [A-Za-z0-9\-\.]) of the resource type and the business key (institution, identifier system,
 * identifier value, ...). A replayed message therefore yields the same ids.
 */
export function deterministicId(resourceType: string, ...key: readonly string[]): string {
  return createHash('sha256')
    .update(JSON.stringify([resourceType, ...key]), 'utf8')
    .digest('hex');
}
