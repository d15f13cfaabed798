import type { Group, GroupMember } from '@medplum/fhirtypes';

/**
 * Rosters: the people a subscriber wants notifications about, named by identifiers the subscriber
 * knows (its own MRNs, a national id), uploaded as a FHIR Group or as CSV. The notify service
 * resolves each identifier to an enterprise person; unresolved members wait for a later match.
 * Problems name the member index or CSV line, never the identifier (it is PHI, docs/conventions.md §12).
 */
export interface RosterMember {
  readonly system: string;
  readonly value: string;
}
export interface RosterProblem {
  readonly location: string;
  readonly message: string;
}

export const MAX_ROSTER_MEMBERS = 200_000;
/** Group extension with the counts of members resolved to a person and not (yet) resolved. */
export const ROSTER_RESOLUTION_EXTENSION =
  'https://tessera.example/fhir/StructureDefinition/roster-resolution';
const INSTITUTION_SYSTEM = 'urn:tessera:institution';
/** Identifier.system is a uri (FHIR R4 Identifier); a roster must name real, absolute systems. */
const ABSOLUTE_URI = /^[A-Za-z][A-Za-z0-9+.-]*:\S+$/;
const PATIENT_IDENTIFIER_QUERY = 'Patient?identifier=';

type Json = Record<string, unknown>;
function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function memberProblem(system: string, value: string): string | undefined {
  if (system === '' || value === '') return 'Both the identifier system and value are required.';
  if (!ABSOLUTE_URI.test(system))
    return 'The identifier system must be an absolute URI (urn:oid:…, https://…).';
  if (/[\r\n\t]/.test(value) || value.length > 256)
    return 'The identifier value must be one line of at most 256 characters.';
  return undefined;
}

function key(m: RosterMember): string {
  return `${m.system}|${m.value}`;
}

/**
 * A FHIR Group (type person, actual true, FHIR R4 Group) whose members are Patients named by
 * `member.entity.identifier` (system and value), or by a conditional reference
 * `Patient?identifier=system|value` (FHIR R4 search token syntax). Members marked `inactive` are
 * no longer members and are skipped. Duplicates are dropped.
 */
export function parseRosterGroup(
  resource: unknown,
): { readonly name?: string; readonly members: readonly RosterMember[] } | readonly RosterProblem[] {
  if (!isObject(resource) || resource['resourceType'] !== 'Group')
    return [
      { location: 'Group.resourceType', message: "Send a FHIR R4 resource with resourceType 'Group'." },
    ];
  const problems: RosterProblem[] = [];
  if (resource['type'] !== 'person')
    problems.push({ location: 'Group.type', message: "A roster is a Group of type 'person'." });
  if (resource['actual'] !== true)
    problems.push({ location: 'Group.actual', message: 'A roster lists actual people: set actual to true.' });
  const name = resource['name'];
  if (name !== undefined && typeof name !== 'string')
    problems.push({ location: 'Group.name', message: 'name must be a string.' });
  const rawMembers = resource['member'] ?? [];
  if (!Array.isArray(rawMembers)) {
    problems.push({ location: 'Group.member', message: 'member must be a list.' });
    return problems;
  }
  if (rawMembers.length > MAX_ROSTER_MEMBERS)
    return [
      ...problems,
      {
        location: 'Group.member',
        message: `A roster holds at most ${MAX_ROSTER_MEMBERS} members; split it.`,
      },
    ];

  const seen = new Set<string>();
  const members: RosterMember[] = [];
  rawMembers.forEach((raw: unknown, i) => {
    const location = `Group.member[${i}].entity`;
    if (!isObject(raw) || !isObject(raw['entity'])) {
      problems.push({ location, message: 'Each member needs an entity.' });
      return;
    }
    if (raw['inactive'] === true) return;
    const member = memberOf(raw['entity']);
    if (typeof member === 'string') {
      problems.push({ location, message: member });
      return;
    }
    if (seen.has(key(member))) return;
    seen.add(key(member));
    members.push(member);
  });
  if (problems.length > 0) return problems;
  return { ...(typeof name === 'string' ? { name } : {}), members };
}

/** The member, or the problem text. */
function memberOf(entity: Json): RosterMember | string {
  const type = entity['type'];
  if (type !== undefined && type !== 'Patient') return "A member's entity must be a Patient.";
  const identifier = entity['identifier'];
  const reference = entity['reference'];
  let system: unknown;
  let value: unknown;
  if (isObject(identifier)) {
    system = identifier['system'];
    value = identifier['value'];
  } else if (typeof reference === 'string' && reference.startsWith(PATIENT_IDENTIFIER_QUERY)) {
    let token: string;
    try {
      token = decodeURIComponent(reference.slice(PATIENT_IDENTIFIER_QUERY.length));
    } catch {
      return 'The Patient?identifier= reference is not valid percent-encoding.';
    }
    const bar = token.indexOf('|');
    if (bar < 0) return 'The reference must be Patient?identifier=system|value (with the system).';
    system = token.slice(0, bar);
    value = token.slice(bar + 1);
  } else {
    return 'Name each member by entity.identifier (system and value) or by a reference Patient?identifier=system|value.';
  }
  if (typeof system !== 'string' || typeof value !== 'string')
    return 'Both the identifier system and value are required.';
  const s = system.trim();
  const v = value.trim();
  return memberProblem(s, v) ?? { system: s, value: v };
}

/**
 * Roster CSV: a header `system,value` (any case, any column order, extra columns ignored) or a
 * single `identifier` column holding `system|value`; RFC 4180 fields (quotes, "" escapes), CRLF or
 * LF line ends, an optional UTF-8 BOM; blank lines are skipped and duplicates dropped. Valid rows
 * are returned even when others have problems, each problem naming its line (1-based, the line the
 * row starts on).
 */
export function parseRosterCsv(text: string): {
  readonly members: readonly RosterMember[];
  readonly problems: readonly RosterProblem[];
} {
  const problems: RosterProblem[] = [];
  const members: RosterMember[] = [];
  const seen = new Set<string>();
  const source = text.startsWith('\uFEFF') ? text.slice(1) : text;
  let header:
    { readonly system: number; readonly value: number } | { readonly identifier: number } | undefined;
  let rows = 0;

  for (const record of csvRecords(source)) {
    const location = `line ${record.line}`;
    if (record.error !== undefined) {
      problems.push({ location, message: record.error });
      break;
    }
    if (record.fields.length === 1 && record.fields[0]?.trim() === '') continue; // blank line
    if (header === undefined) {
      const names = record.fields.map((f) => f.trim().toLowerCase());
      const system = names.indexOf('system');
      const value = names.indexOf('value');
      const identifier = names.indexOf('identifier');
      if (system >= 0 && value >= 0) header = { system, value };
      else if (identifier >= 0) header = { identifier };
      else {
        problems.push({
          location,
          message: "The first line must be the header 'system,value' (or 'identifier').",
        });
        break;
      }
      continue;
    }
    rows++;
    if (rows > MAX_ROSTER_MEMBERS) {
      problems.push({
        location,
        message: `A roster holds at most ${MAX_ROSTER_MEMBERS} rows; split the file.`,
      });
      break;
    }
    let system: string;
    let value: string;
    if ('identifier' in header) {
      const cell = record.fields[header.identifier] ?? '';
      const bar = cell.indexOf('|');
      if (bar < 0) {
        problems.push({ location, message: 'The identifier column holds system|value (with the bar).' });
        continue;
      }
      system = cell.slice(0, bar).trim();
      value = cell.slice(bar + 1).trim();
    } else {
      system = (record.fields[header.system] ?? '').trim();
      value = (record.fields[header.value] ?? '').trim();
    }
    const problem = memberProblem(system, value);
    if (problem !== undefined) {
      problems.push({ location, message: problem });
      continue;
    }
    const member = { system, value };
    if (seen.has(key(member))) continue;
    seen.add(key(member));
    members.push(member);
  }
  if (header === undefined && problems.length === 0)
    problems.push({
      location: 'line 1',
      message: "The file is empty: send the header 'system,value' and one row per person.",
    });
  return { members, problems };
}

interface CsvRecord {
  readonly line: number;
  readonly fields: readonly string[];
  readonly error?: string;
}

/** RFC 4180 §2 records; a quoted field may span lines. Yields an error record for an unclosed quote. */
function* csvRecords(text: string): Generator<CsvRecord> {
  let i = 0;
  let line = 1;
  const n = text.length;
  while (i < n) {
    const start = line;
    const fields: string[] = [];
    let field = '';
    let quoted = false;
    let atFieldStart = true;
    for (;;) {
      if (i >= n) {
        if (quoted) {
          yield { line: start, fields, error: 'A quoted field is not closed: check the quotes on this row.' };
          return;
        }
        fields.push(field);
        yield { line: start, fields };
        return;
      }
      const c = text[i];
      if (quoted) {
        if (c === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
          } else {
            quoted = false;
            i++;
          }
        } else {
          if (c === '\n') line++;
          field += c;
          i++;
        }
        continue;
      }
      if (c === '"' && atFieldStart) {
        quoted = true;
        atFieldStart = false;
        i++;
      } else if (c === ',') {
        fields.push(field);
        field = '';
        atFieldStart = true;
        i++;
      } else if (c === '\r' && text[i + 1] === '\n') {
        i += 2;
        line++;
        break;
      } else if (c === '\n') {
        i++;
        line++;
        break;
      } else {
        field += c;
        atFieldStart = false;
        i++;
      }
    }
    fields.push(field);
    yield { line: start, fields };
  }
}

/**
 * The roster as GET returns it: members by identifier (FHIR R4 Group.member.entity with an
 * identifier-only Reference), the owner as managingEntity, the version as meta.versionId, and the
 * resolution counts in ROSTER_RESOLUTION_EXTENSION (sub-extensions `resolved`, `unresolved`).
 */
export function rosterGroupResource(view: {
  readonly id: string;
  readonly name?: string;
  readonly versionId: number;
  readonly members: readonly (RosterMember & { readonly resolved: boolean })[];
  readonly ownerInstitution: string;
}): Group {
  const resolved = view.members.filter((m) => m.resolved).length;
  const member: GroupMember[] = view.members.map((m) => ({
    entity: { type: 'Patient', identifier: { system: m.system, value: m.value } },
  }));
  return {
    resourceType: 'Group',
    id: view.id,
    meta: { versionId: String(view.versionId) },
    extension: [
      {
        url: ROSTER_RESOLUTION_EXTENSION,
        extension: [
          { url: 'resolved', valueUnsignedInt: resolved },
          { url: 'unresolved', valueUnsignedInt: view.members.length - resolved },
        ],
      },
    ],
    type: 'person',
    actual: true,
    ...(view.name !== undefined ? { name: view.name } : {}),
    quantity: view.members.length,
    managingEntity: {
      type: 'Organization',
      identifier: { system: INSTITUTION_SYSTEM, value: view.ownerInstitution },
    },
    ...(member.length > 0 ? { member } : {}),
  };
}
