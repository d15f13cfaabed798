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
import type { LedgerDetail, LedgerListItem } from './ledger-query.service';
import { LedgerReplayService } from './ledger-replay.service';
import type { ReplayJob } from './ledger-replay.service';
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
            diagnostics: `A ${result.state} message cannot be replayed: only published, mapped and failed messages were accepted and can be mapped again.`,
          },
        ]);
      case 'replayed':
        return {
          id: result.id,
          outcome: result.state,
          detail: result.detail,
          mapperVersion: result.mapperVersion,
          events: result.eventIds.length,
        };
    }
  }

  @Post('replays')
  @RequireRoles('ledger.replay')
  async startReplay(
    @Body() body: unknown,
    @CurrentPrincipal() principal: Principal,
    @Res({ passthrough: true }) response: Response,
  ): Promise<ReplayJob> {
    const filter: LedgerFilter = scopedFilter(valid(parseReplayFilter(body)), principal);
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
