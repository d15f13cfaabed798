import { HttpStatus, Inject, Injectable, Optional, SetMetadata } from '@nestjs/common';
import type { CallHandler, ExecutionContext, NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { principalOf } from '@tessera/platform-auth';
import type { Principal } from '@tessera/platform-auth';
import type { RedisClient } from '@tessera/platform-redis';
import { LOGGER, REDIS_CLIENT } from '@tessera/platform-service';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import type { Observable } from 'rxjs';
import { ExchangeAudit } from '../audit/exchange-audit.service';
import { EXCHANGE_SETTINGS } from '../exchange.config';
import type { ExchangeSettings } from '../exchange.config';
import { outcomeError } from '../http/outcome';
import { routeById } from '../http/route-table';
import type { RouteSpec } from '../http/route-table';
import { CLIENT_DIRECTORY } from './client-directory';
import type { ClientDirectory, ClientPolicy } from './client-directory';
import { hitRateLimit } from './rate-limiter';
import { parseRequestContext, PURPOSE_OF_USE_HEADER } from './request-context';
import type { RequestContext } from './request-context';

const ROUTE_METADATA = 'tessera:exchange-route';
const CONTEXT_PROPERTY = 'tesseraRequestContext';

/** `promise`, or a rejection after `ms` (node-redis queues commands while disconnected). */
function withinMs<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('redis did not answer in time')), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Names the route-table entry of a handler (purpose of use requirement, docs). */
export const ExchangeRoute = (id: string) => SetMetadata(ROUTE_METADATA, routeById(id).id);

/** The validated request context of a clinical route (set by the interceptor). */
export function contextOf(request: Request): RequestContext | undefined {
  return (request as unknown as Record<string, RequestContext | undefined>)[CONTEXT_PROPERTY];
}

/**
 * Runs after the auth guard, before the handler: the per-client rate limit (Redis, fixed 1-second
 * window; 429 + Retry-After + `throttled`) and the request context headers (purpose of use required
 * on clinical routes and checked against the client's registration; 403 otherwise). Refusals are
 * audited as security alerts.
 */
@Injectable()
export class ExchangeRequestInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly audit: ExchangeAudit,
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    @Inject(EXCHANGE_SETTINGS) private readonly settings: ExchangeSettings,
    @Inject(LOGGER) private readonly logger: Logger,
    @Optional() @Inject(CLIENT_DIRECTORY) private readonly clients?: ClientDirectory,
  ) {}

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    const id = this.reflector.get<string | undefined>(ROUTE_METADATA, context.getHandler());
    const http = context.switchToHttp();
    const request = http.getRequest<Request>();
    const principal = principalOf(request);
    if (id === undefined || principal === undefined) return next.handle();
    const route = routeById(id);
    const client = await this.clientPolicy(principal);
    if (this.clients !== undefined && client === undefined) {
      // Disabled or removed since its token was issued: its token dies with it (and a missing
      // registration must never read as "no purpose restriction").
      this.audit.securityAlert(
        { reason: 'client_disabled', status: 401, path: request.path, method: request.method },
        principal,
      );
      http.getResponse<Response>().setHeader('WWW-Authenticate', 'Bearer error="invalid_token"');
      throw outcomeError(
        HttpStatus.UNAUTHORIZED,
        'login',
        'this client is disabled or no longer registered; its tokens are refused',
      );
    }
    await this.rateLimit(principal, client, request, http.getResponse<Response>());
    this.readContext(route, principal, client, request);
    return next.handle();
  }

  private async clientPolicy(principal: Principal): Promise<ClientPolicy | undefined> {
    if (this.clients === undefined) return undefined;
    return this.clients.clientPolicy(principal.clientId);
  }

  private async rateLimit(
    principal: Principal,
    client: ClientPolicy | undefined,
    request: Request,
    response: Response,
  ): Promise<void> {
    const limit = client?.rateLimitPerSecond ?? this.settings.EXCHANGE_RATE_LIMIT_PER_SECOND;
    let decision;
    try {
      decision = await withinMs(hitRateLimit(this.redis, principal.clientId, limit), 250);
    } catch (error) {
      // Rate limiting protects capacity, not data: with Redis down requests go on (and are logged).
      this.logger.warn(
        { err: { name: (error as Error).name, message: (error as Error).message } },
        'rate limit unavailable',
      );
      return;
    }
    if (decision.allowed) return;
    this.audit.securityAlert(
      { reason: 'rate_limited', status: 429, path: request.path, method: request.method },
      principal,
    );
    response.setHeader('Retry-After', String(decision.retryAfterSeconds));
    throw outcomeError(
      HttpStatus.TOO_MANY_REQUESTS,
      'throttled',
      `more than ${limit} requests per second from this client; retry after ${decision.retryAfterSeconds} s`,
    );
  }

  private readContext(
    route: RouteSpec,
    principal: Principal,
    client: ClientPolicy | undefined,
    request: Request,
  ): void {
    if (!route.purposeRequired && request.headers[PURPOSE_OF_USE_HEADER] === undefined) return;
    const result = parseRequestContext(request.headers, client?.allowedPurposes ?? null);
    if (!result.ok) {
      // A missing or unknown purpose (400) is audited as well as one the client may not assert (403).
      this.audit.securityAlert(
        {
          reason: result.status === 403 ? 'purpose_not_allowed' : 'purpose_invalid',
          status: result.status,
          path: request.path,
          method: request.method,
        },
        principal,
      );
      throw outcomeError(result.status, result.issue.code, result.issue.diagnostics, result.issue.expression);
    }
    (request as unknown as Record<string, RequestContext>)[CONTEXT_PROPERTY] = result.context;
  }
}
