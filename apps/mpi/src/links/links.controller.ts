import { Controller, Get, HttpStatus, Param, ParseUUIDPipe, Query, UseFilters } from '@nestjs/common';
import type { Patient } from '@medplum/fhirtypes';
import { RequireRoles } from '@tessera/platform-auth';
import { OperationOutcomeException, OperationOutcomeFilter } from '@tessera/platform-service';
import { IdentityQueryService } from '../identity/identity-query.service';
import type { LinkHistoryEntry } from '../identity/identity-query.service';
import { goldenRecord } from '../pdq/golden-record.projection';

export interface LinkHistoryResponse {
  readonly system: string;
  readonly value: string;
  readonly enterpriseId: string;
  /** Current link version, the `expectedVersion` of an operator decision. */
  readonly linkVersion: number;
  readonly events: readonly LinkHistoryEntry[];
}

export interface EnterpriseIdResponse {
  readonly enterpriseId: string;
  /** Raised by every link change in or out of it: the `expectedVersions` of a merge. */
  readonly version: number;
  /** Set while it is merged into another enterprise id (by an operator merge). */
  readonly mergedInto: string | null;
  readonly sources: readonly {
    readonly system: string;
    readonly value: string;
    readonly state: string;
    readonly origin: string;
    readonly score: number | null;
    readonly retired: boolean;
  }[];
  readonly golden: Patient;
}

/** Operators' view of links: a source record's link history, an enterprise id's sources and golden record. */
@Controller('mpi')
@UseFilters(OperationOutcomeFilter)
@RequireRoles('mpi.review')
export class LinksController {
  constructor(private readonly identities: IdentityQueryService) {}

  /** Every link decision about one source record, oldest first ("which enterprise id at time T"). */
  @Get('links/history')
  async history(@Query('system') system: unknown, @Query('value') value: unknown): Promise<LinkHistoryResponse> {
    if (typeof system !== 'string' || system === '' || typeof value !== 'string' || value === '') {
      throw new OperationOutcomeException(HttpStatus.BAD_REQUEST, [
        { code: 'required', diagnostics: 'system and value (the source record identifier) are required once each' },
      ]);
    }
    const resolved = await this.identities.resolve(system, value);
    if (resolved === null) {
      throw new OperationOutcomeException(HttpStatus.NOT_FOUND, [{ code: 'not-found', diagnostics: 'source record not known to the MPI' }]);
    }
    return {
      system,
      value,
      enterpriseId: resolved.enterpriseId,
      linkVersion: resolved.linkVersion,
      events: await this.identities.history(resolved.sourceRecordId),
    };
  }

  @Get('enterprise-ids/:id')
  async enterpriseId(@Param('id', new ParseUUIDPipe()) id: string): Promise<EnterpriseIdResponse> {
    const anchor = await this.identities.enterpriseId(id);
    if (anchor === null) {
      throw new OperationOutcomeException(HttpStatus.NOT_FOUND, [{ code: 'not-found', diagnostics: 'enterprise id not known to the MPI' }]);
    }
    const members = await this.identities.members(id);
    return {
      enterpriseId: id,
      version: anchor.version,
      mergedInto: anchor.mergedInto,
      sources: members.map((m) => ({
        system: m.system,
        value: m.localId,
        state: m.state,
        origin: m.origin,
        score: m.score,
        retired: m.retired,
      })),
      golden: goldenRecord(
        id,
        members.filter((m) => !m.retired),
      ),
    };
  }
}
