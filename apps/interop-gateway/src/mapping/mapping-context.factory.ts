import type { MappingContext } from '@tessera/v2-fhir';
import type { Institution } from '../institutions/institution';
import { identifierSystemFor } from '../institutions/institution';

/**
 * The v2-fhir MappingContext of one registered institution. Patient identifier systems come only
 * from its registration (never guessed from the message): each assigning authority is keyed by its
 * namespace (CX-4.1) and, for urn:oid: systems, by the bare OID too (CX-4.2 universal id, CX-4.3
 * "ISO", HL7 v2.5 Chapter 2A.14 CX). PID-3 repetitions without CX-4 get the default authority's
 * system (or the first one's, as identifierSystemFor does on the ingest path).
 */
export function mappingContextFor(institution: Institution): MappingContext {
  const systems: Record<string, string> = {};
  for (const authority of institution.assigningAuthorities) {
    if (authority.system.startsWith('urn:oid:')) {
      const oid = authority.system.slice('urn:oid:'.length);
      if (!(oid in systems)) systems[oid] = authority.system;
    }
  }
  // Namespaces win over an equal bare OID key: they are what the feed was registered with.
  for (const authority of institution.assigningAuthorities) systems[authority.namespace] = authority.system;
  const defaultSystem = identifierSystemFor(institution, '');
  if (defaultSystem === undefined) {
    // institutionSchema requires at least one assigning authority; a stored document without is corrupt.
    throw new Error(`Institution ${institution.id} has no assigning authority`);
  }
  return {
    institutionId: institution.id,
    patientIdentifierSystems: systems,
    defaultPatientSystem: defaultSystem,
  };
}
