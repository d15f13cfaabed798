import { Body, Controller, Get, HttpCode, HttpStatus, Param, ParseUUIDPipe, Post, UseFilters } from '@nestjs/common';
import { z } from 'zod';
import { CurrentPrincipal, RequireRoles } from '@tessera/platform-auth';
import type { Principal } from '@tessera/platform-auth';
import { OperationOutcomeException, OperationOutcomeFilter } from '@tessera/platform-service';
import { operatorOf, parse } from '../operator/operator.controller';
import { EnterpriseMergeHandler } from './enterprise-merge.handler';
import type { MergeResult, MergeView } from './enterprise-merge.handler';

const reason = z.string().trim().min(1).max(2000);
const version = z.number().int().positive();
const mergeBody = z
  .object({
    survivingEnterpriseId: z.uuid(),
    mergedEnterpriseId: z.uuid(),
    expectedVersions: z.object({ surviving: version, merged: version }).strict(),
    reason,
  })
  .strict();
const unmergeBody = z.object({ expectedVersion: version, reason }).strict();

function settle<T>(result: MergeResult<T>): T {
  switch (result.status) {
    case 'ok':
      return result.value;
    case 'not-found':
      throw new OperationOutcomeException(HttpStatus.NOT_FOUND, [{ code: 'not-found', diagnostics: `${result.what} not known to the MPI` }]);
    case 'invalid':
      throw new OperationOutcomeException(HttpStatus.BAD_REQUEST, [{ code: 'invalid', diagnostics: result.diagnostics }]);
    case 'refused':
      throw new OperationOutcomeException(HttpStatus.UNPROCESSABLE_ENTITY, [{ code: 'business-rule', diagnostics: result.diagnostics }]);
    case 'conflict':
      throw new OperationOutcomeException(HttpStatus.CONFLICT, [{ code: 'conflict', diagnostics: result.diagnostics }]);
  }
}

/** Operator merge / unmerge of enterprise ids (the merge is a recorded decision; the unmerge replays the others). */
@Controller('mpi/merges')
@UseFilters(OperationOutcomeFilter)
@RequireRoles('mpi.review')
export class MergeController {
  constructor(private readonly handler: EnterpriseMergeHandler) {}

  @Post()
  @HttpCode(HttpStatus.CREATED)
  async merge(@Body() body: unknown, @CurrentPrincipal() principal: Principal | undefined): Promise<MergeView> {
    const operator = operatorOf(principal);
    const cmd = parse(mergeBody, body);
    return settle(await this.handler.merge(cmd, { operator, reason: cmd.reason }));
  }

  @Get(':id')
  async find(@Param('id', new ParseUUIDPipe()) id: string): Promise<MergeView> {
    const merge = await this.handler.find(id);
    if (merge === null) throw new OperationOutcomeException(HttpStatus.NOT_FOUND, [{ code: 'not-found', diagnostics: 'merge not known to the MPI' }]);
    return merge;
  }

  @Post(':id/unmerge')
  @HttpCode(HttpStatus.OK)
  async unmerge(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() body: unknown,
    @CurrentPrincipal() principal: Principal | undefined,
  ) {
    const operator = operatorOf(principal);
    const cmd = parse(unmergeBody, body);
    return settle(await this.handler.unmerge(id, cmd.expectedVersion, { operator, reason: cmd.reason }));
  }
}
