import { randomUUID } from 'node:crypto';
import { HttpStatus, Injectable } from '@nestjs/common';
import type { Bundle, Group } from '@medplum/fhirtypes';
import { DataSource } from 'typeorm';
import type { EntityManager } from 'typeorm';
import { OperationOutcomeException } from '@tessera/platform-service';
import { parseRosterCsv, parseRosterGroup, rosterGroupResource } from '@tessera/subscriptions';
import type { RosterMember, RosterProblem } from '@tessera/subscriptions';
import { outcomeError } from '../../http/outcome';
import { checkVersion } from '../if-match';
import { RosterRepository } from './roster.repository';
import type { RosterRow } from './roster.repository';

/** A roster as uploaded: a FHIR Group, or CSV text. */
export type RosterUpload =
  { readonly kind: 'group'; readonly body: unknown } | { readonly kind: 'csv'; readonly text: string };

export interface RosterSummary {
  readonly id: string;
  readonly version: number;
  readonly total: number;
  readonly resolved: number;
}

const MAX_PROBLEMS_SHOWN = 20;
/** A Group read lists at most this many members; larger rosters are read as their counts (and kept by CSV). */
export const MAX_MEMBERS_LISTED = 50_000;

/**
 * Rosters (docs/design/notifications.md "Rosters"): create, replace, add and remove members. A
 * roster belongs to the institution that created it; another institution's is answered as not
 * found, so a roster's existence is not disclosed either. Every change answers with the counts of
 * members that resolve to a person now and of those that do not (yet).
 */
@Injectable()
export class RosterHandler {
  constructor(
    private readonly dataSource: DataSource,
    private readonly rosters: RosterRepository,
  ) {}

  async create(owner: string, upload: RosterUpload): Promise<RosterSummary> {
    const { name, members } = parseUpload(upload);
    const id = randomUUID();
    return this.dataSource.transaction(async (tx) => {
      await this.rosters.create(tx, id, owner, name);
      await this.rosters.add(tx, id, members);
      return this.summary(tx, { id, ownerInstitution: owner, name: name ?? null, version: 1 });
    });
  }

  async replace(
    owner: string,
    id: string,
    upload: RosterUpload,
    ifMatch: string | undefined,
  ): Promise<RosterSummary> {
    const { name, members } = parseUpload(upload);
    return this.dataSource.transaction(async (tx) => {
      const roster = await this.owned(tx, owner, id, true);
      checkVersion(roster.version, ifMatch);
      await this.rosters.clear(tx, id);
      await this.rosters.add(tx, id, members);
      const version = await this.rosters.bump(tx, id, name ?? null);
      return this.summary(tx, { ...roster, version });
    });
  }

  async change(
    owner: string,
    id: string,
    op: 'add' | 'remove',
    body: unknown,
  ): Promise<RosterSummary & { changed: number }> {
    const members = memberIdsOf(body);
    return this.dataSource.transaction(async (tx) => {
      const roster = await this.owned(tx, owner, id, true);
      const changed =
        op === 'add' ? await this.rosters.add(tx, id, members) : await this.rosters.remove(tx, id, members);
      const version = await this.rosters.bump(tx, id);
      return { ...(await this.summary(tx, { ...roster, version })), changed };
    });
  }

  async read(owner: string, id: string): Promise<{ group: Group; version: number }> {
    const tx = this.dataSource.manager;
    const roster = await this.owned(tx, owner, id, false);
    const counts = await this.rosters.counts(tx, id);
    if (counts.total > MAX_MEMBERS_LISTED)
      throw outcomeError(
        HttpStatus.UNPROCESSABLE_ENTITY,
        'too-costly',
        `the roster has ${counts.total} members, more than ${MAX_MEMBERS_LISTED} listed in one Group; its counts are in GET /fhir/Group?_id=${id}`,
      );
    const members = await this.rosters.members(tx, id, 0, MAX_MEMBERS_LISTED);
    const group = rosterGroupResource({
      id,
      ...(roster.name === null ? {} : { name: roster.name }),
      versionId: roster.version,
      members,
      ownerInstitution: owner,
    });
    return { group, version: roster.version };
  }

  /** The caller's rosters with their counts (members not listed). */
  async list(owner: string, fhirBase: string): Promise<Bundle> {
    const tx = this.dataSource.manager;
    const rosters = await this.rosters.listOwned(tx, owner);
    const entries = [];
    for (const roster of rosters) {
      const counts = await this.rosters.counts(tx, roster.id);
      const group = rosterGroupResource({
        id: roster.id,
        ...(roster.name === null ? {} : { name: roster.name }),
        versionId: roster.version,
        members: [],
        ownerInstitution: owner,
      });
      entries.push({
        fullUrl: `${fhirBase}/Group/${roster.id}`,
        resource: { ...group, quantity: counts.total, extension: countsExtension(counts) },
        search: { mode: 'match' as const },
      });
    }
    return { resourceType: 'Bundle', type: 'searchset', total: entries.length, entry: entries };
  }

  private async owned(tx: EntityManager, owner: string, id: string, forUpdate: boolean): Promise<RosterRow> {
    const roster = await this.rosters.find(tx, id, forUpdate);
    if (roster === undefined || roster.ownerInstitution !== owner)
      throw outcomeError(
        HttpStatus.NOT_FOUND,
        'not-found',
        'no roster with this id belongs to your institution',
        'id',
      );
    return roster;
  }

  private async summary(tx: EntityManager, roster: RosterRow): Promise<RosterSummary> {
    const counts = await this.rosters.counts(tx, roster.id);
    return { id: roster.id, version: roster.version, ...counts };
  }
}

/** Counts of a roster as an extension (members resolved to a person now / not yet). */
export const ROSTER_COUNTS_EXTENSION = 'urn:tessera:fhir:extension:roster-resolution';

export function countsExtension(counts: { readonly total: number; readonly resolved: number }) {
  return [
    {
      url: ROSTER_COUNTS_EXTENSION,
      extension: [
        { url: 'resolved', valueInteger: counts.resolved },
        { url: 'unresolved', valueInteger: counts.total - counts.resolved },
      ],
    },
  ];
}

function parseUpload(upload: RosterUpload): { name?: string; members: readonly RosterMember[] } {
  if (upload.kind === 'csv') {
    const parsed = parseRosterCsv(upload.text);
    if (parsed.problems.length > 0) throw problemsError(parsed.problems);
    if (parsed.members.length === 0)
      throw outcomeError(
        400,
        'required',
        'the CSV has no members (header system,value and one row per patient)',
      );
    return { members: parsed.members };
  }
  const parsed = parseRosterGroup(upload.body);
  if (isProblems(parsed)) throw problemsError(parsed);
  return parsed;
}

function isProblems<T>(value: T | readonly RosterProblem[]): value is readonly RosterProblem[] {
  return Array.isArray(value);
}

function problemsError(problems: readonly RosterProblem[]): OperationOutcomeException {
  const shown = problems.slice(0, MAX_PROBLEMS_SHOWN).map((p) => ({
    code: 'invalid' as const,
    diagnostics: p.message,
    expression: p.location,
  }));
  if (problems.length > MAX_PROBLEMS_SHOWN)
    shown.push({
      code: 'invalid',
      diagnostics: `${problems.length - MAX_PROBLEMS_SHOWN} more problems not listed`,
      expression: 'body',
    });
  return new OperationOutcomeException(HttpStatus.BAD_REQUEST, shown);
}

/** `$member-add` / `$member-remove` input: Parameters with `memberId` Identifier parameters. */
function memberIdsOf(body: unknown): RosterMember[] {
  const b = body as { resourceType?: unknown; parameter?: unknown };
  if (b?.resourceType !== 'Parameters' || !Array.isArray(b.parameter))
    throw outcomeError(400, 'structure', 'the body must be Parameters with memberId parameters (Identifier)');
  const members: RosterMember[] = [];
  (b.parameter as { name?: unknown; valueIdentifier?: { system?: unknown; value?: unknown } }[]).forEach(
    (p, i) => {
      const system = p.valueIdentifier?.system;
      const value = p.valueIdentifier?.value;
      if (
        p.name !== 'memberId' ||
        typeof system !== 'string' ||
        system === '' ||
        typeof value !== 'string' ||
        value === ''
      )
        throw outcomeError(
          400,
          'invalid',
          'each parameter must be memberId with an Identifier (system and value)',
          `Parameters.parameter[${i}]`,
        );
      members.push({ system, value });
    },
  );
  if (members.length === 0)
    throw outcomeError(400, 'required', 'no memberId parameters', 'Parameters.parameter');
  return members;
}
