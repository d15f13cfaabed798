import {
  Body,
  Controller,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  Post,
  Query,
  Res,
  UseFilters,
} from '@nestjs/common';
import type { Response } from 'express';
import { CurrentPrincipal, RequireRoles } from '@tessera/platform-auth';
import type { Principal } from '@tessera/platform-auth';
import { OperationOutcomeException, OperationOutcomeFilter } from '@tessera/platform-service';
import type { LedgerFilter } from './ledger-filter';
import { isUuid, parseReplayFilter, parseSearchQuery } from './ledger-filter';
import type { Parsed } from './ledger-filter';
import { LedgerQueryService } from './ledger-query.service';
import type { LedgerDetail, LedgerListItem, ProvisionalIdentities } from './ledger-query.service';
import { LedgerReplayService } from './ledger-replay.service';
import type { ReplayJob } from './ledger-replay.service';
import type { ReplayPreview } from './replay-preview.projection';
import { LedgerRetentionService } from './ledger-retention.service';
import type { PruneResult } from './ledger-retention.service';

/**
 * What an operator may see: regional operators (no institution on their client) see every feed;
 * an institution's interface analyst sees only that institution's messages.
 */
function institutionScope(principal: Principal): string | undefined {
  return principal.institutionId ?? undefined;
}

/** The filter an operator asked for, narrowed to what they may see (403 when they named another institution). */
function scopedFilter(filter: LedgerFilter, principal: Principal): LedgerFilter {
  const scope = institutionScope(principal);
  if (scope === undefined) return filter;
  if (filter.institution !== undefined && filter.institution !== scope) {
    throw new OperationOutcomeException(HttpStatus.FORBIDDEN, [
      { code: 'forbidden', expression: 'institution', diagnostics: "Only your own institution's feeds are visible to you." },
    ]);
  }
  return { ...filter, institution: scope };
}

/** `dryRun` (a boolean, default false) apart from the filter fields of a replay request. */
function splitDryRun(body: unknown): { dryRun: boolean; filterBody: unknown } {
  if (body === null || typeof body !== 'object' || Array.isArray(body) || !('dryRun' in body))
    return { dryRun: false, filterBody: body };
  const { dryRun, ...rest } = body as Record<string, unknown>;
  if (typeof dryRun !== 'boolean') {
    throw new OperationOutcomeException(HttpStatus.BAD_REQUEST, [
      { code: 'invalid', expression: 'dryRun', diagnostics: 'expected true or false' },
    ]);
  }
  return { dryRun, filterBody: rest };
}

function visibleTo(principal: Principal, institutionId: string | null): boolean {
  const scope = institutionScope(principal);
  return scope === undefined || institutionId === scope;
}

function valid<T>(parsed: Parsed<T>): T {
  if (!parsed.ok) throw new OperationOutcomeException(HttpStatus.BAD_REQUEST, parsed.issues);
  return parsed.value;
}

function ledgerId(id: string, name = 'id'): string {
  if (!isUuid(id)) {
    throw new OperationOutcomeException(HttpStatus.BAD_REQUEST, [
      { code: 'invalid', expression: name, diagnostics: 'expected a ledger message id (UUID)' },
    ]);
  }
  return id.toLowerCase();
}

function notFound(what: string): OperationOutcomeException {
  return new OperationOutcomeException(HttpStatus.NOT_FOUND, [
    { code: 'not-found', diagnostics: `${what} was not found (or has been pruned).` },
  ]);
}

/** The message ledger for operators: search, detail, audited raw view, replay and pruning. */
@Controller('ledger')
@UseFilters(OperationOutcomeFilter)
export class LedgerController {
  constructor(
    private readonly query: LedgerQueryService,
    private readonly replays: LedgerReplayService,
    private readonly retention: LedgerRetentionService,
  ) {}

  @Get('messages')
  @RequireRoles('ledger.read')
  async search(
    @Query() params: Record<string, unknown>,
    @CurrentPrincipal() principal: Principal,
  ): Promise<{ items: LedgerListItem[]; next: string | null }> {
    const { filter, page } = valid(parseSearchQuery(params));
    return this.query.search(scopedFilter(filter, principal), page);
  }

  /** Provisional identities per institution (an analyst sees only their own): what to register before a replay. */
  @Get('provisional-identities')
  @RequireRoles('ledger.read')
  async provisional(
    @Query('institution') institution: unknown,
    @CurrentPrincipal() principal: Principal,
  ): Promise<{ items: ProvisionalIdentities[] }> {
    if (institution !== undefined && (typeof institution !== 'string' || institution.trim() === '')) {
      throw new OperationOutcomeException(HttpStatus.BAD_REQUEST, [
        { code: 'invalid', expression: 'institution', diagnostics: 'expected one institution id' },
      ]);
    }
    const filter = scopedFilter(institution === undefined ? {} : { institution: institution.trim() }, principal);
    return { items: await this.query.provisionalIdentities(filter.institution) };
  }

  @Get('messages/:id')
  @RequireRoles('ledger.read')
  async detail(@Param('id') id: string, @CurrentPrincipal() principal: Principal): Promise<LedgerDetail> {
    const found = await this.query.detail(ledgerId(id));
    if (found === undefined || !visibleTo(principal, found.institutionId)) throw notFound(`Ledger message ${id}`);
    return found;
  }

  @Get('messages/:id/raw')
  @RequireRoles('ledger.read')
  async raw(
    @Param('id') id: string,
    @CurrentPrincipal() principal: Principal,
    @Res({ passthrough: true }) response: Response,
  ): Promise<string> {
    const raw = await this.query.readRaw(ledgerId(id), principal);
    if (raw === undefined) throw notFound(`Ledger message ${id}`);
    response.setHeader('Content-Type', raw.contentType);
    response.setHeader('Cache-Control', 'no-store');
    return raw.text;
  }

  @Post('messages/:id/replay')
  @HttpCode(HttpStatus.OK)
  @RequireRoles('ledger.replay')
  async replayOne(@Param('id') id: string, @CurrentPrincipal() principal: Principal) {
    const found = await this.query.detail(ledgerId(id));
    if (found === undefined || !visibleTo(principal, found.institutionId)) throw notFound(`Ledger message ${id}`);
    const result = await this.replays.replayOne(ledgerId(id), principal.clientId);
    switch (result.status) {
      case 'not-found':
        throw notFound(`Ledger message ${id}`);
      case 'not-replayable':
        throw new OperationOutcomeException(HttpStatus.CONFLICT, [
          {
            code: 'business-rule',
            diagnostics: `A ${result.state} message cannot be replayed: only accepted messages (published, mapped, failed) and messages rejected for their content (AE) can be mapped again; a message refused because of its sender never can.`,
          },
        ]);
      case 'received-again':
        throw new OperationOutcomeException(HttpStatus.CONFLICT, [
          {
            code: 'duplicate',
            diagnostics: `Its sending facility now belongs to institution ${result.institutionId}, which has received the same message since (ledger message ${result.by}): replay that one instead.`,
          },
        ]);
      case 'replayed':
        return {
          id: result.id,
          outcome: result.state,
          detail: result.detail,
          mapperVersion: result.mapperVersion,
          events: result.eventIds.length,
          identityCorrected: result.correction.prior !== null,
          withdrawn: result.correction.withdrawn.length,
        };
    }
  }

  /**
   * A filtered replay. With `"dryRun": true` it changes nothing and answers 200 with what the replay
   * would change (identities corrected, items withdrawn and indexed, source records whose consents
   * follow); without, it starts (202) or returns (200) the background job for the filter.
   */
  @Post('replays')
  @RequireRoles('ledger.replay')
  async startReplay(
    @Body() body: unknown,
    @CurrentPrincipal() principal: Principal,
    @Res({ passthrough: true }) response: Response,
  ): Promise<ReplayJob | ReplayPreview> {
    const { dryRun, filterBody } = splitDryRun(body);
    const filter: LedgerFilter = scopedFilter(valid(parseReplayFilter(filterBody)), principal);
    if (dryRun) {
      response.status(HttpStatus.OK);
      return this.replays.preview(filter);
    }
    const { job, created } = await this.replays.startJob(filter, principal.clientId);
    response.status(created ? HttpStatus.ACCEPTED : HttpStatus.OK);
    response.setHeader('Location', `/ledger/replays/${job.id}`);
    return job;
  }

  @Get('replays/:jobId')
  @RequireRoles('ledger.read', 'ledger.replay')
  async replayJob(@Param('jobId') jobId: string, @CurrentPrincipal() principal: Principal): Promise<ReplayJob> {
    const job = await this.replays.job(ledgerId(jobId, 'jobId'));
    const institution = typeof job?.filter['institution'] === 'string' ? job.filter['institution'] : null;
    if (job === undefined || !visibleTo(principal, institution)) throw notFound(`Replay job ${jobId}`);
    return job;
  }

  /** Retention runs over every feed: regional operators only. */
  @Post('prune')
  @HttpCode(HttpStatus.OK)
  @RequireRoles('ledger.replay')
  prune(@CurrentPrincipal() principal: Principal): Promise<PruneResult> {
    if (institutionScope(principal) !== undefined) {
      throw new OperationOutcomeException(HttpStatus.FORBIDDEN, [
        { code: 'forbidden', diagnostics: 'Pruning covers every feed: it needs a regional operator.' },
      ]);
    }
    return this.retention.prune();
  }
}
