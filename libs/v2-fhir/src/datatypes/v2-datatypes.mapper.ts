import type { Hl7FieldRepetition } from '@tessera/hl7v2';
import type {
  Address,
  CodeableConcept,
  Coding,
  ContactPoint,
  Extension,
  HumanName,
  Identifier,
  Practitioner,
  Reference,
} from '@medplum/fhirtypes';
import type { MappingScope } from '../mapping.scope';
import { present } from '../mapping.scope';
import type { Hl7Location } from '../mapping.types';
import {
  isOid,
  localAssigningAuthoritySystem,
  resolveCodeSystem,
  v2TableSystem,
} from '../vocabulary/code-systems.vocabulary';
import {
  identifierTypeDisplay,
  isNationalPersonIdentifierType,
  mapAddressType,
  mapNameRepresentation,
  mapNameType,
  mapTelecomEquipment,
  mapTelecomUse,
} from '../vocabulary/v2-tables.vocabulary';

/*
 * Data type maps of the HL7 v2-to-FHIR IG (mappings/datatypes): CWE[CodeableConcept], CX[Identifier],
 * XPN[HumanName], XAD[Address], XTN[ContactPoint], XCN[Practitioner] (as a logical Reference here),
 * EI[Identifier], PL[Location] (display only).
 */

function v(rep: Hl7FieldRepetition, component: number, subComponent?: number): string {
  const value = rep.component(component, subComponent);
  return present(value) ? value : '';
}

function withLocation(location: Hl7Location, component: number): Hl7Location {
  return { ...location, component };
}

/**
 * CWE / CE / CNE / CF -> CodeableConcept (IG CWE[CodeableConcept]): the identifier triplet
 * (1-3) and the alternate triplet (4-6) each become a Coding; CWE-9 original text (else CWE-2)
 * becomes text. `defaultSystem` is the field's HL7 table system used when CWE-3 is empty.
 */
export function mapCwe(
  scope: MappingScope,
  rep: Hl7FieldRepetition | undefined,
  location: Hl7Location,
  defaultSystem?: string,
): CodeableConcept | undefined {
  if (rep === undefined) return undefined;
  const codings: Coding[] = [];
  for (const [codeC, textC, systemC] of [
    [1, 2, 3],
    [4, 5, 6],
  ] as const) {
    const code = v(rep, codeC);
    if (code === '') continue;
    const coding = codingOf(
      scope,
      code,
      v(rep, textC),
      v(rep, systemC),
      withLocation(location, systemC),
      defaultSystem,
    );
    codings.push(coding);
  }
  const text = v(rep, 9) || v(rep, 2);
  if (codings.length === 0 && text === '') return undefined;
  return { ...(codings.length > 0 ? { coding: codings } : {}), ...(text !== '' ? { text } : {}) };
}

export function codingOf(
  scope: MappingScope,
  code: string,
  display: string,
  systemName: string,
  location: Hl7Location,
  defaultSystem?: string,
): Coding {
  let system: string | undefined;
  if (systemName !== '') {
    system = resolveCodeSystem(systemName, scope.ctx.institutionId, scope.ctx.codeSystemMap).system;
  } else if (defaultSystem !== undefined) {
    system = defaultSystem;
  } else {
    scope.warn(
      'CODE_WITHOUT_SYSTEM',
      location,
      'Code sent without a coding system name; kept without a system.',
    );
  }
  return { ...(system !== undefined ? { system } : {}), code, ...(display !== '' ? { display } : {}) };
}

/** A coded value of an IS / ID field (or CWE-1 of a CWE field) in HL7 table `table`. */
export function mapTableCode(
  rep: Hl7FieldRepetition | undefined,
  table: string,
): CodeableConcept | undefined {
  if (rep === undefined) return undefined;
  const code = v(rep, 1);
  if (code === '') return undefined;
  const display = v(rep, 2);
  return { coding: [{ system: v2TableSystem(table), code, ...(display !== '' ? { display } : {}) }] };
}

export type IdentifierKind = 'patient' | 'other';

/**
 * Assigning authority (HD: namespace id, universal id, universal id type) -> Identifier.system.
 * Registered systems come from the context; an ISO OID sent as universal id is used as urn:oid
 * (that is what was sent, not a guess); anything else stays in the institution's own namespace
 * urn:tessera:aa:<institutionId>:<namespace>, with a warning so operators can register it.
 */
export function assigningAuthoritySystem(
  scope: MappingScope,
  kind: IdentifierKind,
  namespace: string,
  universalId: string,
  universalIdType: string,
  location: Hl7Location,
  identifierTypeCode = '',
): string {
  const registry =
    kind === 'patient' ? scope.ctx.patientIdentifierSystems : (scope.ctx.identifierSystems ?? {});
  // One authority may issue several kinds of number (visit numbers, staff ids): "<authority>^<type>"
  // keys (type from v2 table 0203) are consulted before the plain "<authority>" key.
  for (const authority of [namespace, universalId]) {
    if (authority === '') continue;
    const found =
      (identifierTypeCode !== '' ? registry[`${authority}^${identifierTypeCode}`] : undefined) ??
      registry[authority];
    if (found !== undefined) return found;
  }
  if (namespace === '' && universalId === '') {
    return kind === 'patient'
      ? scope.ctx.defaultPatientSystem
      : localAssigningAuthoritySystem(scope.ctx.institutionId);
  }
  if (universalId !== '' && universalIdType.toUpperCase() === 'ISO' && isOid(universalId))
    return `urn:oid:${universalId}`;
  if (kind === 'patient') {
    scope.warn(
      'UNKNOWN_ASSIGNING_AUTHORITY',
      location,
      'Assigning authority is not registered for this institution; identifier kept under urn:tessera:aa:<institution>:<authority>. Register the authority to map it to its system.',
    );
  }
  return localAssigningAuthoritySystem(scope.ctx.institutionId, namespace !== '' ? namespace : universalId);
}

/** Identifier.type from a v2 table 0203 code (CX-5, XCN-13). */
export function identifierType(code: string): CodeableConcept | undefined {
  if (code === '') return undefined;
  const display = identifierTypeDisplay(code);
  if (display !== undefined) return { coding: [{ system: v2TableSystem('0203'), code, display }] };
  if (isNationalPersonIdentifierType(code)) {
    // Table 0203 "NNxxx" is a pattern, not an enumerated THO code: the coded type is NI (national
    // unique individual identifier), the country-specific code is kept as text.
    return {
      coding: [
        { system: v2TableSystem('0203'), code: 'NI', display: 'National unique individual identifier' },
      ],
      text: code,
    };
  }
  return { text: code };
}

/** CX -> Identifier (IG CX[Identifier]). Undefined when CX-1 is empty. */
export function mapCx(
  scope: MappingScope,
  rep: Hl7FieldRepetition,
  location: Hl7Location,
  kind: IdentifierKind,
): (Identifier & { readonly system: string; readonly value: string }) | undefined {
  const value = v(rep, 1);
  if (value === '') return undefined;
  const typeCode = v(rep, 5);
  const system = assigningAuthoritySystem(
    scope,
    kind,
    v(rep, 4, 1),
    v(rep, 4, 2),
    v(rep, 4, 3),
    withLocation(location, 4),
    typeCode,
  );
  const type = identifierType(typeCode);
  if (typeCode !== '' && type?.coding === undefined) {
    scope.warn(
      'UNKNOWN_CODE',
      withLocation(location, 5),
      'Identifier type code is not in HL7 table 0203; kept as text.',
    );
  }
  return { ...(type !== undefined ? { type } : {}), system, value };
}

/** EI -> Identifier (IG EI[Identifier]): EI-1 value, EI-2/3/4 assigning authority. */
export function mapEi(
  scope: MappingScope,
  rep: Hl7FieldRepetition | undefined,
  location: Hl7Location,
): (Identifier & { readonly system: string; readonly value: string }) | undefined {
  if (rep === undefined) return undefined;
  const value = v(rep, 1);
  if (value === '') return undefined;
  return {
    system: assigningAuthoritySystem(scope, 'other', v(rep, 2), v(rep, 3), v(rep, 4), location),
    value,
  };
}

/**
 * XPN -> HumanName (IG XPN[HumanName]): 1 family (FN.1 surname), 2 given, 3 further given names,
 * 4 suffix, 5 prefix, 6 degree (-> suffix), 7 name type (table 0200 -> use), 8 representation
 * (table 4000 -> iso21090-EN-representation). Text in any script is kept exactly as sent.
 */
export function mapXpn(rep: Hl7FieldRepetition): HumanName | undefined {
  const family = v(rep, 1, 1);
  const given = [v(rep, 2), ...v(rep, 3).split(' ')].filter((g) => g !== '');
  const suffix = [v(rep, 4), v(rep, 6)].filter((s) => s !== '');
  const prefix = v(rep, 5);
  if (family === '' && given.length === 0) return undefined;
  const use = mapNameType(v(rep, 7));
  const representation = mapNameRepresentation(v(rep, 8));
  const extension: Extension[] | undefined =
    representation !== undefined
      ? [
          {
            url: 'http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation',
            valueCode: representation,
          },
        ]
      : undefined;
  return {
    ...(extension !== undefined ? { extension } : {}),
    ...(use !== undefined ? { use } : {}),
    ...(family !== '' ? { family } : {}),
    ...(given.length > 0 ? { given } : {}),
    ...(prefix !== '' ? { prefix: [prefix] } : {}),
    ...(suffix.length > 0 ? { suffix } : {}),
  };
}

/** XAD -> Address (IG XAD[Address]): 1 street (SAD.1), 2 other designation, 3 city, 4 state, 5 zip, 6 country, 7 type. */
export function mapXad(rep: Hl7FieldRepetition): Address | undefined {
  const line = [v(rep, 1, 1), v(rep, 2)].filter((l) => l !== '');
  const city = v(rep, 3);
  const state = v(rep, 4);
  const postalCode = v(rep, 5);
  const country = v(rep, 6);
  if (line.length === 0 && city === '' && state === '' && postalCode === '' && country === '')
    return undefined;
  return {
    ...mapAddressType(v(rep, 7)),
    ...(line.length > 0 ? { line } : {}),
    ...(city !== '' ? { city } : {}),
    ...(state !== '' ? { state } : {}),
    ...(postalCode !== '' ? { postalCode } : {}),
    ...(country !== '' ? { country } : {}),
  };
}

/**
 * XTN -> ContactPoint (IG XTN[ContactPoint]): XTN-4 e-mail address, else XTN-12 unformatted number,
 * else +country area local xextension from 5-8, else XTN-1 (formatted, deprecated in v2.6+);
 * 2 use (table 0201), 3 equipment (table 0202). CP (cellular phone) -> use mobile.
 */
export function mapXtn(rep: Hl7FieldRepetition, defaultUse: ContactPoint['use']): ContactPoint | undefined {
  const email = v(rep, 4);
  const equipment = v(rep, 3);
  let value = email;
  if (value === '') value = v(rep, 12);
  if (value === '') {
    const parts = [v(rep, 5) !== '' ? `+${v(rep, 5)}` : '', v(rep, 6), v(rep, 7)].filter((p) => p !== '');
    value = parts.join(' ');
    if (value !== '' && v(rep, 8) !== '') value += ` x${v(rep, 8)}`;
  }
  if (value === '') value = v(rep, 1);
  if (value === '') return undefined;
  const system = email !== '' ? 'email' : (mapTelecomEquipment(equipment) ?? 'phone');
  const use = equipment.toUpperCase() === 'CP' ? 'mobile' : (mapTelecomUse(v(rep, 2)) ?? defaultUse);
  return { system, value, ...(use !== undefined ? { use } : {}) };
}

/** Display name of an XCN / XPN-like person: given names then family name. */
function personDisplay(family: string, given: readonly string[], prefix: string): string {
  return [prefix, ...given, family].filter((p) => p !== '').join(' ');
}

/**
 * XCN -> logical Reference(Practitioner) (IG XCN[Practitioner], without creating the Practitioner):
 * identifier from XCN-1 with XCN-9 assigning authority and XCN-13 type, display from the name
 * components 2 family, 3 given, 4 further given, 6 prefix.
 */
export function mapXcn(
  scope: MappingScope,
  rep: Hl7FieldRepetition,
  location: Hl7Location,
): Reference<Practitioner> | undefined {
  const id = v(rep, 1);
  const family = v(rep, 2, 1);
  const given = [v(rep, 3), v(rep, 4)].filter((g) => g !== '');
  const display = personDisplay(family, given, v(rep, 6));
  if (id === '' && display === '') return undefined;
  const identifier: Identifier | undefined =
    id !== ''
      ? {
          system: assigningAuthoritySystem(
            scope,
            'other',
            v(rep, 9, 1),
            v(rep, 9, 2),
            v(rep, 9, 3),
            withLocation(location, 9),
            v(rep, 13),
          ),
          value: id,
        }
      : undefined;
  return {
    type: 'Practitioner',
    ...(identifier !== undefined ? { identifier } : {}),
    ...(display !== '' ? { display } : {}),
  };
}

/** XPN-like name of NK1-2 etc. as HumanName; same as mapXpn. */
export const mapPersonName = mapXpn;

/**
 * PL (1 point of care ^ 2 room ^ 3 bed ^ 4 facility ...) -> the location path
 * "facility/point of care/room/bed", used as display and identifier of a logical Reference(Location)
 * (the IG's PL[Location] without creating Location resources).
 */
export function plPath(rep: Hl7FieldRepetition | undefined): string | undefined {
  if (rep === undefined) return undefined;
  const parts = [v(rep, 4, 1), v(rep, 1), v(rep, 2), v(rep, 3)].filter((p) => p !== '');
  return parts.length === 0 ? undefined : parts.join('/');
}
