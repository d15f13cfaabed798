import type { Extension, Identifier, Patient } from '@medplum/fhirtypes';
import { CLEARED_ELEMENT_EXTENSION, clearedElementsOf } from '@tessera/v2-fhir';

/**
 * Choice elements (FHIR R4 Patient `deceased[x]`, `multipleBirth[x]`): one element whatever its type,
 * so a sent `deceasedBoolean` replaces a stored `deceasedDateTime` and a cleared `deceased` removes both.
 */
const CHOICE_ELEMENTS: Readonly<Record<string, readonly (keyof Patient)[]>> = {
  deceased: ['deceasedBoolean', 'deceasedDateTime'],
  multipleBirth: ['multipleBirthBoolean', 'multipleBirthInteger'],
};

/** Patient elements a message may clear (the cleared-element extension names them). */
const CLEARABLE_ELEMENTS: ReadonlySet<string> = new Set([
  'active',
  'name',
  'telecom',
  'gender',
  'birthDate',
  'deceased',
  'address',
  'maritalStatus',
  'multipleBirth',
  'photo',
  'contact',
  'communication',
  'generalPractitioner',
  'link',
]);

/** Elements merged by their own rule below rather than replaced whole. */
const MERGED_ELEMENTS: ReadonlySet<string> = new Set(['resourceType', 'identifier', 'extension']);

/** The element a Patient key belongs to: `deceasedBoolean` -> `deceased`, `name` -> `name`. */
function elementOf(key: string): string {
  return (
    Object.keys(CHOICE_ELEMENTS).find((choice) => CHOICE_ELEMENTS[choice]?.includes(key as keyof Patient)) ??
    key
  );
}

/** The Patient keys that hold `element` (both types of a choice element). */
function keysOf(element: string): readonly string[] {
  return CHOICE_ELEMENTS[element] ?? [element];
}

/**
 * Identifiers: the union by system. A sent identifier replaces the stored ones of its system (PID-3
 * sends the institution's current number for each assigning authority it lists); stored identifiers
 * of systems the message did not send are kept after the sent ones. An identifier without a system
 * counts as a system of its own.
 */
function mergeIdentifiers(
  previous: readonly Identifier[] | undefined,
  sent: readonly Identifier[] | undefined,
): Identifier[] {
  const sentList = sent ?? [];
  const sentSystems = new Set(sentList.map((i) => i.system ?? ''));
  return [...sentList, ...(previous ?? []).filter((i) => !sentSystems.has(i.system ?? ''))];
}

/**
 * Extensions: by URL, like elements. A sent extension replaces the stored ones of its URL, a cleared
 * URL removes them, the others are kept. The cleared-element list itself describes one message and
 * is never stored.
 */
function mergeExtensions(
  previous: readonly Extension[] | undefined,
  sent: readonly Extension[] | undefined,
  cleared: ReadonlySet<string>,
): Extension[] {
  const sentList = (sent ?? []).filter((e) => e.url !== CLEARED_ELEMENT_EXTENSION);
  const sentUrls = new Set(sentList.map((e) => e.url));
  const kept = (previous ?? []).filter(
    (e) => e.url !== CLEARED_ELEMENT_EXTENSION && !sentUrls.has(e.url) && !cleared.has(e.url),
  );
  return [...sentList, ...kept];
}

/**
 * The new version of a source record an HL7 v2 message describes (HL7 v2.5 Chapter 2 §2.5.3, null
 * values in fields): a field the message left empty means "no information sent, keep what you have";
 * the explicit null `""` means "delete the value you have"; a valued field replaces it. The v2-to-FHIR
 * mapper leaves empty fields out of the Patient and lists the elements cleared with `""` in the
 * cleared-element extension (CLEARED_ELEMENT_EXTENSION), so, element by element of the FHIR Patient:
 * - an element the Patient carries replaces the stored one (a list element such as `telecom`,
 *   `address` or `name` as a whole; a choice element whatever its type);
 * - `identifier`: union by system (mergeIdentifiers); extensions by URL (mergeExtensions);
 * - an element the message cleared is removed;
 * - every other stored element is kept.
 * `previous` null (a new record): the Patient as sent, without the cleared-element list. Pure.
 */
export function overlaySourceRecord(previous: Readonly<Patient> | null, sent: Readonly<Patient>): Patient {
  const clearedCodes = new Set(clearedElementsOf(sent));
  const result: Record<string, unknown> = { ...(previous ?? {}) };
  for (const code of clearedCodes) {
    if (CLEARABLE_ELEMENTS.has(code)) for (const key of keysOf(code)) delete result[key];
  }
  for (const [key, value] of Object.entries(sent)) {
    if (MERGED_ELEMENTS.has(key) || value === undefined) continue;
    for (const sibling of keysOf(elementOf(key))) delete result[sibling];
    result[key] = value;
  }
  const identifier = mergeIdentifiers(previous?.identifier, sent.identifier);
  const extension = mergeExtensions(previous?.extension, sent.extension, clearedCodes);
  delete result['identifier'];
  delete result['extension'];
  return {
    ...(result as Partial<Patient>),
    resourceType: 'Patient',
    ...(extension.length > 0 ? { extension } : {}),
    ...(identifier.length > 0 ? { identifier } : {}),
  };
}
