import { Body, Controller, Get, HttpCode, HttpStatus, Param, ParseUUIDPipe, Post, Query, UseFilters } from '@nestjs/common';
import { z } from 'zod';
import { CurrentPrincipal, RequireRoles } from '@tessera/platform-auth';
import type { Principal } from '@tessera/platform-auth';
import { OperationOutcomeException, OperationOutcomeFilter } from '@tessera/platform-service';
import { operatorOf, parse } from '../operator/operator.controller';
import { RematchJobRunner } from './rematch-job.runner';
import type { RematchResult } from './rematch-job.runner';

const reason = z.string().trim().min(1).max(2000);
const startBody = z
  .object({
    ruleSetVersion: z.string().min(1).optional(),
    scope: z.union([z.literal('all'), z.object({ institution: z.string().min(1) }).strict()]),
    dryRun: z.boolean().default(true),
    reason,
  })
  .strict();
const applyBody = z.object({ expectedVersion: z.number().int().positive(), reason }).strict();

function settle<T>(result: RematchResult<T>): T {
  switch (result.status) {
    case 'ok':
      return result.value;
    case 'not-found':
      throw new OperationOutcomeException(HttpStatus.NOT_FOUND, [{ code: 'not-found', diagnostics: 're-match job not known to the MPI' }]);
    case 'invalid':
      throw new OperationOutcomeException(HttpStatus.BAD_REQUEST, [{ code: 'invalid', diagnostics: result.diagnostics, expression: 'ruleSetVersion' }]);
    case 'conflict':
      throw new OperationOutcomeException(HttpStatus.CONFLICT, [{ code: 'conflict', diagnostics: result.diagnostics, expression: 'expectedVersion' }]);
  }
}

/** Re-matching after a rule change: background dry run with progress, paged report, then apply. */
@Controller('mpi/rematch-jobs')
@UseFilters(OperationOutcomeFilter)
@RequireRoles('mpi.review')
export class RematchController {
  constructor(private readonly runner: RematchJobRunner) {}

  @Post()
  @HttpCode(HttpStatus.ACCEPTED)
  async start(@Body() body: unknown, @CurrentPrincipal() principal: Principal | undefined) {
    const operator = operatorOf(principal);
    const cmd = parse(startBody, body);
    return settle(
      await this.runner.start(
        { scope: cmd.scope, dryRun: cmd.dryRun, ...(cmd.ruleSetVersion === undefined ? {} : { ruleSetVersion: cmd.ruleSetVersion }) },
        { operator, reason: cmd.reason },
      ),
    );
  }

  @Get(':id')
  async find(@Param('id', new ParseUUIDPipe()) id: string) {
    return settle(await this.runner.view(id));
  }

  /** The links that would change (and, after apply, each one's outcome), in evaluation order. */
  @Get(':id/changes')
  async changes(@Param('id', new ParseUUIDPipe()) id: string, @Query('_count') count: unknown, @Query('_offset') offset: unknown) {
    const n = parse(z.coerce.number().int().min(1).max(500).default(100), count);
    const skip = parse(z.coerce.number().int().min(0).default(0), offset);
    return settle(await this.runner.changes(id, n, skip));
  }

  @Post(':id/apply')
  @HttpCode(HttpStatus.ACCEPTED)
  async apply(@Param('id', new ParseUUIDPipe()) id: string, @Body() body: unknown, @CurrentPrincipal() principal: Principal | undefined) {
    const operator = operatorOf(principal);
    const cmd = parse(applyBody, body);
    return settle(await this.runner.requestApply(id, cmd.expectedVersion, { operator, reason: cmd.reason }));
  }
}
