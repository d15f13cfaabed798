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
import { z } from 'zod';
import { CurrentPrincipal, RequireRoles } from '@tessera/platform-auth';
import type { Principal } from '@tessera/platform-auth';
import { OperationOutcomeFilter, parseOrBadRequest } from '@tessera/platform-service';
import { callerOf } from '../http/consent-caller';
import { etagOf, expectedVersionOf } from '../http/if-match';
import { ConsentReviewHandler } from './consent-review.handler';
import type { ConsentReviewView } from './consent-review.handler';

const reviewQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(100) });
const reviewDecisionBody = z
  .object({ decision: z.enum(['approve', 'reject']), note: z.string().trim().max(2000).optional() })
  .strict();

/** Permits awaiting a privacy officer's review (README "Privacy review of recorded permits"). */
@Controller('privacy/consent-reviews')
@UseFilters(OperationOutcomeFilter)
export class ConsentReviewController {
  constructor(private readonly handler: ConsentReviewHandler) {}

  @Get()
  @RequireRoles('privacy.officer')
  async pending(@Query() query: unknown): Promise<{ items: ConsentReviewView[] }> {
    return { items: await this.handler.pending(parseOrBadRequest(reviewQuery, query).limit) };
  }

  @Post(':id/decision')
  @HttpCode(HttpStatus.OK)
  @RequireRoles('privacy.officer')
  async decide(
    @Param('id') id: string,
    @Body() body: unknown,
    @Headers('if-match') ifMatch: string | undefined,
    @CurrentPrincipal() principal: Principal | undefined,
    @Res({ passthrough: true }) response: Response,
  ): Promise<ConsentReviewView> {
    const expected = expectedVersionOf(ifMatch);
    const cmd = parseOrBadRequest(reviewDecisionBody, body);
    const view = await this.handler.decide(
      id,
      expected,
      cmd.decision,
      cmd.note ?? null,
      callerOf(principal, undefined),
    );
    response.setHeader('ETag', etagOf(view.version));
    return view;
  }
}
