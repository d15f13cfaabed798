import type { RosterMember, RosterProblem } from './roster.mapper';
import {
  MAX_ROSTER_MEMBERS,
  ROSTER_RESOLUTION_EXTENSION,
  parseRosterCsv,
  parseRosterGroup,
  rosterGroupResource,
} from './roster.mapper';

const SYS = 'urn:oid:2.16.840.1.113883.19.5';

function group(member: unknown[], overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { resourceType: 'Group', type: 'person', actual: true, name: 'Panel', member, ...overrides };
}

function members(result: ReturnType<typeof parseRosterGroup>): readonly RosterMember[] {
  if (Array.isArray(result)) throw new Error(`problems: ${JSON.stringify(result)}`);
  return (result as { members: readonly RosterMember[] }).members;
}

function groupProblems(result: ReturnType<typeof parseRosterGroup>): readonly RosterProblem[] {
  if (!Array.isArray(result)) throw new Error('expected problems');
  return result as readonly RosterProblem[];
}

describe('parseRosterGroup', () => {
  it('reads members by identifier and by Patient?identifier= reference, dropping duplicates and inactive ones', () => {
    const result = parseRosterGroup(
      group([
        { entity: { type: 'Patient', identifier: { system: SYS, value: 'MRN-1' } } },
        { entity: { reference: `Patient?identifier=${encodeURIComponent(`${SYS}|MRN-2`)}` } },
        { entity: { reference: `Patient?identifier=${SYS}|MRN-1` } },
        { entity: { identifier: { system: SYS, value: 'MRN-3' } }, inactive: true },
      ]),
    );
    expect(result).toEqual({
      name: 'Panel',
      members: [
        { system: SYS, value: 'MRN-1' },
        { system: SYS, value: 'MRN-2' },
      ],
    });
  });

  it('accepts a Group without members (an emptied roster)', () => {
    expect(members(parseRosterGroup(group([], { member: undefined })))).toEqual([]);
  });

  it.each<[string, unknown, string[]]>([
    ['not a Group', { resourceType: 'List' }, ['Group.resourceType']],
    ['not a person group', group([], { type: 'device' }), ['Group.type']],
    ['not actual', group([], { actual: false }), ['Group.actual']],
    ['name not a string', group([], { name: 7 }), ['Group.name']],
    ['member not a list', group([], { member: {} }), ['Group.member']],
    ['member without entity', group([{}]), ['Group.member[0].entity']],
    [
      'entity of another type',
      group([{ entity: { type: 'Practitioner', identifier: { system: SYS, value: 'x' } } }]),
      ['Group.member[0].entity'],
    ],
    ['literal reference', group([{ entity: { reference: 'Patient/123' } }]), ['Group.member[0].entity']],
    [
      'reference without a system',
      group([{ entity: { reference: 'Patient?identifier=MRN-1' } }]),
      ['Group.member[0].entity'],
    ],
    [
      'bad percent-encoding',
      group([{ entity: { reference: 'Patient?identifier=%E0%A4%A' } }]),
      ['Group.member[0].entity'],
    ],
    [
      'empty value',
      group([{ entity: { identifier: { system: SYS, value: ' ' } } }]),
      ['Group.member[0].entity'],
    ],
    [
      'relative system',
      group([{ entity: { identifier: { system: 'MRN', value: 'MRN-1' } } }]),
      ['Group.member[0].entity'],
    ],
    ['missing system', group([{ entity: { identifier: { value: 'MRN-1' } } }]), ['Group.member[0].entity']],
  ])('names the location of a problem: %s', (_case, resource, expected) => {
    expect(groupProblems(parseRosterGroup(resource)).map((p) => p.location)).toEqual(expected);
  });

  it('names the member index and never the identifier value', () => {
    const found = groupProblems(
      parseRosterGroup(
        group([
          { entity: { identifier: { system: SYS, value: 'MRN-1' } } },
          { entity: { identifier: { system: 'not-a-uri', value: 'SECRET-MRN-99' } } },
        ]),
      ),
    );
    expect(found.map((p) => p.location)).toEqual(['Group.member[1].entity']);
    expect(JSON.stringify(found)).not.toContain('SECRET-MRN-99');
  });

  it('refuses more than the member limit', () => {
    const many = Array.from({ length: MAX_ROSTER_MEMBERS + 1 }, () => ({}));
    expect(groupProblems(parseRosterGroup(group(many))).map((p) => p.location)).toEqual(['Group.member']);
  });
});

describe('parseRosterCsv', () => {
  it('reads system,value rows', () => {
    expect(parseRosterCsv(`system,value\n${SYS},MRN-1\n${SYS},MRN-2\n`)).toEqual({
      members: [
        { system: SYS, value: 'MRN-1' },
        { system: SYS, value: 'MRN-2' },
      ],
      problems: [],
    });
  });

  it('accepts a BOM, CRLF line ends, header case and column order, extra columns and blank lines', () => {
    const text = `\uFEFFValue,SYSTEM,note\r\n\r\nMRN-1,${SYS},x\r\n   \r\nMRN-2,${SYS},y`;
    expect(parseRosterCsv(text)).toEqual({
      members: [
        { system: SYS, value: 'MRN-1' },
        { system: SYS, value: 'MRN-2' },
      ],
      problems: [],
    });
  });

  it('reads RFC 4180 quoted fields, with commas and doubled quotes inside', () => {
    const text = `system,value\n"${SYS}","MRN, ""A"""\n`;
    expect(parseRosterCsv(text).members).toEqual([{ system: SYS, value: 'MRN, "A"' }]);
  });

  it('accepts a single identifier column of system|value', () => {
    expect(parseRosterCsv(`Identifier\n${SYS}|MRN-1\n"${SYS}|MRN-2"\n`).members).toEqual([
      { system: SYS, value: 'MRN-1' },
      { system: SYS, value: 'MRN-2' },
    ]);
  });

  it('drops duplicates', () => {
    expect(parseRosterCsv(`system,value\n${SYS},MRN-1\n${SYS}, MRN-1 \n`).members).toEqual([
      { system: SYS, value: 'MRN-1' },
    ]);
  });

  it('keeps valid rows and names the line of each problem, never its value', () => {
    const text = `system,value\n${SYS},MRN-1\n${SYS},\nrelative,SECRET-9\n\n${SYS},MRN-4\n`;
    const result = parseRosterCsv(text);
    expect(result.members).toEqual([
      { system: SYS, value: 'MRN-1' },
      { system: SYS, value: 'MRN-4' },
    ]);
    expect(result.problems.map((p) => p.location)).toEqual(['line 3', 'line 4']);
    expect(JSON.stringify(result.problems)).not.toContain('SECRET-9');
  });

  it('counts lines inside quoted multi-line fields and reports the line a row starts on', () => {
    const text = `system,value\n"${SYS}","MRN\n1"\n${SYS},\n`;
    expect(parseRosterCsv(text).problems.map((p) => p.location)).toEqual(['line 2', 'line 4']);
  });

  it('reports an identifier cell without the bar', () => {
    expect(parseRosterCsv('identifier\nMRN-1\n').problems).toEqual([
      { location: 'line 2', message: 'The identifier column holds system|value (with the bar).' },
    ]);
  });

  it('reports an unclosed quote at the line its row starts on', () => {
    const result = parseRosterCsv(`system,value\n${SYS},MRN-1\n"${SYS},MRN-2\n`);
    expect(result.members).toEqual([{ system: SYS, value: 'MRN-1' }]);
    expect(result.problems.map((p) => p.location)).toEqual(['line 3']);
  });

  it('reports a missing header and an empty file on line 1', () => {
    expect(parseRosterCsv(`${SYS},MRN-1\n`).problems.map((p) => p.location)).toEqual(['line 1']);
    expect(parseRosterCsv('').problems.map((p) => p.location)).toEqual(['line 1']);
    expect(parseRosterCsv('\uFEFF\n\n').problems.map((p) => p.location)).toEqual(['line 1']);
  });

  it('stops at 200,000 rows', () => {
    const rows = Array.from({ length: MAX_ROSTER_MEMBERS + 1 }, (_, i) => `${SYS},M${i}`).join('\n');
    const result = parseRosterCsv(`system,value\n${rows}\n`);
    expect(result.members).toHaveLength(MAX_ROSTER_MEMBERS);
    expect(result.problems.map((p) => p.location)).toEqual([`line ${MAX_ROSTER_MEMBERS + 2}`]);
  });
});

describe('rosterGroupResource', () => {
  it('renders the members as identifiers, the owner, the version and the resolution counts', () => {
    const group = rosterGroupResource({
      id: 'roster-1',
      name: 'Panel',
      versionId: 3,
      ownerInstitution: 'hosp-a',
      members: [
        { system: SYS, value: 'MRN-1', resolved: true },
        { system: SYS, value: 'MRN-2', resolved: false },
        { system: SYS, value: 'MRN-3', resolved: true },
      ],
    });
    expect(group).toEqual({
      resourceType: 'Group',
      id: 'roster-1',
      meta: { versionId: '3' },
      extension: [
        {
          url: ROSTER_RESOLUTION_EXTENSION,
          extension: [
            { url: 'resolved', valueUnsignedInt: 2 },
            { url: 'unresolved', valueUnsignedInt: 1 },
          ],
        },
      ],
      type: 'person',
      actual: true,
      name: 'Panel',
      quantity: 3,
      managingEntity: {
        type: 'Organization',
        identifier: { system: 'urn:tessera:institution', value: 'hosp-a' },
      },
      member: [
        { entity: { type: 'Patient', identifier: { system: SYS, value: 'MRN-1' } } },
        { entity: { type: 'Patient', identifier: { system: SYS, value: 'MRN-2' } } },
        { entity: { type: 'Patient', identifier: { system: SYS, value: 'MRN-3' } } },
      ],
    });
  });

  it('round-trips through parseRosterGroup', () => {
    const rendered = rosterGroupResource({
      id: 'r',
      versionId: 1,
      ownerInstitution: 'hosp-a',
      members: [{ system: SYS, value: 'MRN-1', resolved: false }],
    });
    expect(parseRosterGroup(rendered)).toEqual({ members: [{ system: SYS, value: 'MRN-1' }] });
  });
});
