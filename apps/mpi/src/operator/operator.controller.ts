import { Body, Controller, Get, HttpCode, HttpStatus, Param, ParseUUIDPipe, Post, Query, UseFilters } from '@nestjs/common';
import { z } from 'zod';
import { CurrentPrincipal, RequireRoles } from '@tessera/platform-auth';
import type { Principal } from '@tessera/platform-auth';
import { OperationOutcomeException, OperationOutcomeFilter } from '@tessera/platform-service';
import type { Issue } from '@tessera/platform-service';
import { IdentityQueryService } from '../identity/identity-query.service';
import type { ReviewTaskView } from '../identity/identity-query.service';
import { ReviewTaskDetailHandler } from '../review/review-task-detail.handler';
import type { ReviewTaskDetail } from '../review/review-task-detail.handler';
import { OperatorLinkHandler } from './operator-link.handler';
import type { OperatorResult } from './operator-link.handler';

const sourceRef = z.object({ system: z.string().min(1), value: z.string().min(1) }).strict();
const reason = z.string().trim().min(1).max(2000);
const linkBody = z
  .object({ source: sourceRef, enterpriseId: z.uuid(), expectedVersion: z.number().int().positive(), reason })
  .strict();
const unlinkBody = z.object({ source: sourceRef, expectedVersion: z.number().int().positive(), reason }).strict();
const taskDecisionBody = z
  .object({
    decision: z.enum(['link', 'separate']),
    enterpriseId: z.uuid().optional(),
    expectedVersion: z.number().int().positive(),
    reason,
  })
  .strict()
  .refine((b) => b.decision === 'separate' || b.enterpriseId !== undefined, {
    message: 'a link decision names the enterpriseId',
    path: ['enterpriseId'],
  });
const notSamePersonBody = z.object({ a: sourceRef, b: sourceRef, reason }).strict();

/**
 * The operator id of a decision: the verified token's client id (every decision names who made it).
 * The guard (RequireRoles) has already refused a request without a valid operator token.
 */
export function operatorOf(principal: Principal | undefined): string {
  if (principal === undefined) {
    throw new OperationOutcomeException(HttpStatus.UNAUTHORIZED, [{ code: 'login', diagnostics: 'an operator access token is required' }]);
  }
  return principal.clientId;
}

/** The validated body, or 400 with one issue per problem (path in `expression`). */
export function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issues: Issue[] = result.error.issues.map((i) => ({
    code: 'invalid',
    diagnostics: i.message,
    expression: i.path.map(String).join('.'),
  }));
  throw new OperationOutcomeException(HttpStatus.BAD_REQUEST, issues);
}

function settle(result: OperatorResult): Exclude<OperatorResult, { status: 'not-found' | 'conflict' | 'invalid' }> {
  if (result.status === 'invalid') {
    throw new OperationOutcomeException(HttpStatus.BAD_REQUEST, [{ code: 'invalid', diagnostics: result.diagnostics }]);
  }
  if (result.status === 'not-found') {
    throw new OperationOutcomeException(HttpStatus.NOT_FOUND, [{ code: 'not-found', diagnostics: `${result.what} not known to the MPI` }]);
  }
  if (result.status === 'conflict') {
    throw new OperationOutcomeException(HttpStatus.CONFLICT, [
      {
        code: 'conflict',
        diagnostics: `the link changed since you read it (now version ${result.currentVersion}): reload it and decide again`,
        expression: 'expectedVersion',
      },
    ]);
  }
  return result;
}

/** Operator decisions on links and the review queue (MANUAL decisions: the engine never overrides them). */
@Controller('mpi')
@UseFilters(OperationOutcomeFilter)
@RequireRoles('mpi.review')
export class OperatorController {
  constructor(
    private readonly handler: OperatorLinkHandler,
    private readonly identities: IdentityQueryService,
    private readonly reviewDetail: ReviewTaskDetailHandler,
  ) {}

  @Post('links/link')
  @HttpCode(HttpStatus.OK)
  async link(@Body() body: unknown, @CurrentPrincipal() principal: Principal | undefined) {
    const operator = operatorOf(principal);
    const cmd = parse(linkBody, body);
    return settle(await this.handler.link(cmd.source, cmd.enterpriseId, cmd.expectedVersion, { operator, reason: cmd.reason }));
  }

  @Post('links/unlink')
  @HttpCode(HttpStatus.OK)
  async unlink(@Body() body: unknown, @CurrentPrincipal() principal: Principal | undefined) {
    const operator = operatorOf(principal);
    const cmd = parse(unlinkBody, body);
    return settle(await this.handler.unlink(cmd.source, cmd.expectedVersion, { operator, reason: cmd.reason }));
  }

  @Post('not-same-person')
  @HttpCode(HttpStatus.NO_CONTENT)
  async notSamePerson(@Body() body: unknown, @CurrentPrincipal() principal: Principal | undefined): Promise<void> {
    const operator = operatorOf(principal);
    const cmd = parse(notSamePersonBody, body);
    if ((await this.handler.notSamePerson(cmd.a, cmd.b, { operator, reason: cmd.reason })) === 'not-found') {
      throw new OperationOutcomeException(HttpStatus.NOT_FOUND, [
        { code: 'not-found', diagnostics: 'both source records must be known to the MPI, and differ' },
      ]);
    }
  }

  @Post('review-tasks/:id/decision')
  @HttpCode(HttpStatus.OK)
  async decideTask(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() body: unknown,
    @CurrentPrincipal() principal: Principal | undefined,
  ) {
    const operator = operatorOf(principal);
    const cmd = parse(taskDecisionBody, body);
    const decision =
      cmd.decision === 'link' && cmd.enterpriseId !== undefined
        ? { kind: 'link' as const, enterpriseId: cmd.enterpriseId }
        : { kind: 'separate' as const };
    return settle(await this.handler.decideTask(id, decision, cmd.expectedVersion, { operator, reason: cmd.reason }));
  }

  /** The review queue: tasks of one status (default OPEN), most useful first. */
  @Get('review-tasks')
  async reviewTasks(@Query('status') status: unknown, @Query('limit') limit: unknown): Promise<{ items: ReviewTaskView[] }> {
    const wanted = parse(z.enum(['OPEN', 'DECIDED', 'DISMISSED']).default('OPEN'), status);
    const n = parse(z.coerce.number().int().min(1).max(500).default(50), limit);
    return { items: await this.identities.reviewTasks(wanted, n) };
  }

  /** One task with its record and each candidate side by side, field by field (levels and weights). */
  @Get('review-tasks/:id')
  async reviewTask(@Param('id', new ParseUUIDPipe()) id: string): Promise<ReviewTaskDetail> {
    const detail = await this.reviewDetail.detail(id);
    if (detail === null) {
      throw new OperationOutcomeException(HttpStatus.NOT_FOUND, [{ code: 'not-found', diagnostics: 'review task not known to the MPI' }]);
    }
    return detail;
  }
}
