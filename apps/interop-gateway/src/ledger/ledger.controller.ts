import {
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  HttpStatus,
  Param,
  Post,
  Query,
  Res,
  UseFilters,
} from '@nestjs/common';
import type { Response } from 'express';
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

/** Header naming the operator until OAuth arrives (a later issue): required for raw access and replays. */
export const OPERATOR_HEADER = 'x-tessera-operator';

/** The operator id of a request; 401 when missing or unusable. */
export function operatorFrom(header: string | undefined): string {
  const value = header?.trim() ?? '';
  if (!/^[\x21-\x7e]{1,200}$/.test(value)) {
    throw new OperationOutcomeException(HttpStatus.UNAUTHORIZED, [
      {
        code: 'login',
        expression: 'X-Tessera-Operator',
        diagnostics:
          'Name yourself in the X-Tessera-Operator header (your operator id, printable ASCII, at most 200 characters): this access is audited.',
      },
    ]);
  }
  return value;
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
  async search(
    @Query() params: Record<string, unknown>,
  ): Promise<{ items: LedgerListItem[]; next: string | null }> {
    const { filter, page } = valid(parseSearchQuery(params));
    return this.query.search(filter, page);
  }

  @Get('messages/:id')
  async detail(@Param('id') id: string): Promise<LedgerDetail> {
    const found = await this.query.detail(ledgerId(id));
    if (found === undefined) throw notFound(`Ledger message ${id}`);
    return found;
  }

  @Get('messages/:id/raw')
  async raw(
    @Param('id') id: string,
    @Headers(OPERATOR_HEADER) operatorHeader: string | undefined,
    @Res({ passthrough: true }) response: Response,
  ): Promise<string> {
    const operator = operatorFrom(operatorHeader);
    const raw = await this.query.readRaw(ledgerId(id), operator);
    if (raw === undefined) throw notFound(`Ledger message ${id}`);
    response.setHeader('Content-Type', raw.contentType);
    response.setHeader('Cache-Control', 'no-store');
    return raw.text;
  }

  @Post('messages/:id/replay')
  @HttpCode(HttpStatus.OK)
  async replayOne(@Param('id') id: string, @Headers(OPERATOR_HEADER) operatorHeader: string | undefined) {
    const operator = operatorFrom(operatorHeader);
    const result = await this.replays.replayOne(ledgerId(id), operator);
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
  async startReplay(
    @Body() body: unknown,
    @Headers(OPERATOR_HEADER) operatorHeader: string | undefined,
    @Res({ passthrough: true }) response: Response,
  ): Promise<ReplayJob> {
    const operator = operatorFrom(operatorHeader);
    const filter: LedgerFilter = valid(parseReplayFilter(body));
    const { job, created } = await this.replays.startJob(filter, operator);
    response.status(created ? HttpStatus.ACCEPTED : HttpStatus.OK);
    response.setHeader('Location', `/ledger/replays/${job.id}`);
    return job;
  }

  @Get('replays/:jobId')
  async replayJob(@Param('jobId') jobId: string): Promise<ReplayJob> {
    const job = await this.replays.job(ledgerId(jobId, 'jobId'));
    if (job === undefined) throw notFound(`Replay job ${jobId}`);
    return job;
  }

  @Post('prune')
  @HttpCode(HttpStatus.OK)
  prune(): Promise<PruneResult> {
    return this.retention.prune();
  }
}
