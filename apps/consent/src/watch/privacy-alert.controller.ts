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
import { CurrentPrincipal, RequireRoles } from '@tessera/platform-auth';
import type { Principal } from '@tessera/platform-auth';
import { OperationOutcomeFilter, parseOrBadRequest } from '@tessera/platform-service';
import { etagOf, expectedVersionOf } from '../http/if-match';
import { PrivacyAlertHandler } from './privacy-alert.handler';
import type { PrivacyAlertView } from './watch.repository';

const alertQuery = z.object({
  status: z.enum(['open', 'closed']).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
const alertDecisionBody = z
  .object({
    decision: z.enum(['appropriate', 'inappropriate']),
    note: z.string().trim().max(2000).optional(),
  })
  .strict();

/** Privacy alerts of the watch (privacy officers): list and decide, like the break-the-glass reviews. */
@Controller('privacy/alerts')
@UseFilters(OperationOutcomeFilter)
export class PrivacyAlertController {
  constructor(private readonly handler: PrivacyAlertHandler) {}

  @Get()
  @RequireRoles('privacy.officer')
  async alerts(@Query() query: unknown): Promise<{ items: PrivacyAlertView[] }> {
    const q = parseOrBadRequest(alertQuery, query);
    return { items: await this.handler.alerts(q.status, q.limit) };
  }

  @Post(':id/decision')
  @HttpCode(HttpStatus.OK)
  @RequireRoles('privacy.officer')
  async decide(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() body: unknown,
    @Headers('if-match') ifMatch: string | undefined,
    @CurrentPrincipal() principal: Principal | undefined,
    @Res({ passthrough: true }) response: Response,
  ): Promise<PrivacyAlertView> {
    const expected = expectedVersionOf(ifMatch);
    const cmd = parseOrBadRequest(alertDecisionBody, body);
    const alert = await this.handler.decide(
      id,
      expected,
      cmd.decision,
      cmd.note ?? null,
      principal?.clientId ?? 'unknown',
    );
    response.setHeader('ETag', etagOf(alert.version));
    return alert;
  }
}
