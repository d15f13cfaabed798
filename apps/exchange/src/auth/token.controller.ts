import { Body, Controller, Header, HttpCode, Post, Res } from '@nestjs/common';
import type { Response } from 'express';
import { Public } from '@tessera/platform-auth';
import { OAuthError } from './client-assertion.validator';
import { TokenHandler } from './token.handler';
import type { TokenForm } from './token.handler';

/**
 * The SMART Backend Services token endpoint. Answers are OAuth JSON (RFC 6749 §5.1/§5.2), not
 * OperationOutcome, and are never cached.
 */
@Controller('auth')
export class TokenController {
  constructor(private readonly handler: TokenHandler) {}

  @Post('token')
  @Public()
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @Header('Pragma', 'no-cache')
  async token(@Body() body: unknown, @Res({ passthrough: true }) res: Response): Promise<unknown> {
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
