import { Body, Controller, Header, HttpCode, Inject, Post, Res } from '@nestjs/common';
import type { Response } from 'express';
import { Public } from '@tessera/platform-auth';
import type { RedisClient } from '@tessera/platform-redis';
import { REDIS_CLIENT } from '@tessera/platform-service';
import { hitRateLimit } from '../context/rate-limiter';
import { OAuthError } from './client-assertion.validator';
import { EXCHANGE_AUTH_SETTINGS } from './exchange-auth.config';
import type { ExchangeAuthSettings } from './exchange-auth.config';
import { TokenHandler } from './token.handler';
import type { TokenForm } from './token.handler';

/**
 * The SMART Backend Services token endpoint. Answers are OAuth JSON (RFC 6749 §5.1/§5.2), not
 * OperationOutcome, and are never cached. Requests per network address are limited (brute force of
 * client assertions, load): 429 with Retry-After beyond EXCHANGE_TOKEN_REQUESTS_PER_SECOND.
 */
@Controller('auth')
export class TokenController {
  constructor(
    private readonly handler: TokenHandler,
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    @Inject(EXCHANGE_AUTH_SETTINGS) private readonly settings: ExchangeAuthSettings,
  ) {}

  @Post('token')
  @Public()
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @Header('Pragma', 'no-cache')
  async token(@Body() body: unknown, @Res({ passthrough: true }) res: Response): Promise<unknown> {
    const peer = res.req.socket.remoteAddress ?? 'unknown';
    // Redis down: no limit here, and the handler answers 503 (its replay check needs Redis too).
    const rate = await hitRateLimit(
      this.redis,
      `token:${peer}`,
      this.settings.EXCHANGE_TOKEN_REQUESTS_PER_SECOND,
    ).catch(() => undefined);
    if (rate !== undefined && !rate.allowed) {
      res.status(429);
      res.setHeader('Retry-After', String(rate.retryAfterSeconds));
      return {
        error: 'invalid_request',
        error_description: 'too many token requests from this address: retry after a second',
      };
    }
    const form: TokenForm =
      typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as TokenForm) : {};
    if (!(res.req.is('application/x-www-form-urlencoded') ?? false)) {
      res.status(400);
      return {
        error: 'invalid_request',
        error_description: 'send the token request as application/x-www-form-urlencoded',
      };
    }
    try {
      return await this.handler.handle(form);
    } catch (error) {
      if (!(error instanceof OAuthError)) throw error;
      res.status(error.status);
      if (error.status === 401) res.setHeader('WWW-Authenticate', 'Bearer error="invalid_client"');
      return { error: error.error, error_description: error.description };
    }
  }
}
