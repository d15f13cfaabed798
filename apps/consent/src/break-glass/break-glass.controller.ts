import {
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  HttpStatus,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
  Res,
  UseFilters,
} from '@nestjs/common';
import type { Response } from 'express';
import { z } from 'zod';
import { CurrentPrincipal, RequireRoles, RequireService } from '@tessera/platform-auth';
import type { Principal } from '@tessera/platform-auth';
import { OperationOutcomeFilter, parseOrBadRequest } from '@tessera/platform-service';
import { etagOf, expectedVersionOf } from '../http/if-match';
import { BreakGlassHandler } from './break-glass.handler';
import type { BreakGlassGranted } from './break-glass.handler';
import type { PrivacyReviewView } from './break-glass.repository';

const id = z.string().regex(/^[A-Za-z0-9\-.]{1,64}$/, 'expected 1-64 of A-Z a-z 0-9 - .');
export const breakGlassBody = z
  .object({
    enterpriseId: id,
    institutionId: id,
    clientId: z.string().min(1).max(200),
    reason: z.string().trim().min(5).max(500),
    user: z.string().min(1).max(200).optional(),
  })
  .strict();
export const reviewDecisionBody = z
  .object({
    decision: z.enum(['appropriate', 'inappropriate']),
    note: z.string().trim().max(2000).optional(),
  })
  .strict();
const reviewQuery = z.object({
  status: z.enum(['open', 'closed']).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

/** Break-the-glass grants (the exchange) and their privacy reviews (privacy officers). */
@Controller()
@UseFilters(OperationOutcomeFilter)
export class BreakGlassController {
  constructor(private readonly handler: BreakGlassHandler) {}

  @Post('internal/break-glass')
  @HttpCode(HttpStatus.CREATED)
  @RequireService()
  async breakGlass(@Body() body: unknown): Promise<BreakGlassGranted> {
    return this.handler.grant(parseOrBadRequest(breakGlassBody, body, ''));
  }

  @Get('privacy/break-glass-reviews')
  @RequireRoles('privacy.officer')
  async reviews(@Query() query: unknown): Promise<{ items: PrivacyReviewView[] }> {
    const q = parseOrBadRequest(reviewQuery, query, '');
    return { items: await this.handler.reviews(q.status, q.limit) };
  }

  @Post('privacy/break-glass-reviews/:id/decision')
  @HttpCode(HttpStatus.OK)
  @RequireRoles('privacy.officer')
  async decide(
    @Param('id', new ParseUUIDPipe()) reviewId: string,
    @Body() body: unknown,
    @Headers('if-match') ifMatch: string | undefined,
    @CurrentPrincipal() principal: Principal | undefined,
    @Res({ passthrough: true }) response: Response,
  ): Promise<PrivacyReviewView> {
    const expected = expectedVersionOf(ifMatch);
    const cmd = parseOrBadRequest(reviewDecisionBody, body, '');
    const review = await this.handler.decide(
      reviewId,
      expected,
      cmd.decision,
      cmd.note ?? null,
      principal?.clientId ?? 'unknown',
    );
    response.setHeader('ETag', etagOf(review.version));
    return review;
  }
}
