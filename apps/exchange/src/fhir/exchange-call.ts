import { HttpStatus } from '@nestjs/common';
import { principalOf } from '@tessera/platform-auth';
import type { Principal } from '@tessera/platform-auth';
import { OperationOutcomeException } from '@tessera/platform-service';
import type { Request } from 'express';
import type { AuditFacts, ExchangeAudit } from '../audit/exchange-audit.service';
import { contextOf } from '../context/exchange-request.interceptor';
import type { RequestContext } from '../context/request-context';
import { checkSearchParams, queryOf } from '../context/search-hygiene';
import { outcomeError } from '../http/outcome';
import { acceptedParams, routeById } from '../http/route-table';
import { unavailable, UpstreamStatusError, UpstreamUnavailable } from '../upstream/upstream.client';

/** Who is calling and why, for a route that passed the guard and the interceptor. */
export interface Caller {
  readonly principal: Principal;
  readonly context: RequestContext | undefined;
}

export function callerOf(request: Request): Caller {
  const principal = principalOf(request);
  if (principal === undefined) throw new Error('route reached without a verified principal');
  return { principal, context: contextOf(request) };
}

/** The validated context of a clinical route (the interceptor guarantees it). */
export function clinicalContext(caller: Caller): RequestContext {
  if (caller.context === undefined) throw new Error('clinical route reached without a request context');
  return caller.context;
}

/** The query string of a request after the hygiene check of its route (400 on any issue). */
export function checkedQuery(request: Request, routeId: string): URLSearchParams {
  const params = queryOf(request.originalUrl);
  const issues = checkSearchParams(params, acceptedParams(routeById(routeId)));
  if (issues.length > 0) throw new OperationOutcomeException(HttpStatus.BAD_REQUEST, issues);
  return params;
}

/** Maps a failed call to an internal service onto the exchange's answer (never its internals). */
export function upstreamError(error: unknown, what: string): Error {
  if (error instanceof UpstreamUnavailable) return unavailable(what);
  if (error instanceof UpstreamStatusError) {
    const body = error.body as { resourceType?: string } | undefined;
    if (
      (error.status === 400 ||
        error.status === 404 ||
        error.status === 409 ||
        error.status === 412 ||
        error.status === 422) &&
      body?.resourceType === 'OperationOutcome'
    ) {
      // The data services' OperationOutcomes name parameters, never values (no PHI): pass them on.
      return new OperationOutcomeException(
        error.status,
        (body as { issue: never[] }).issue.map(
          (i: { code: never; diagnostics?: string; expression?: string[] }) => ({
            code: i.code,
            diagnostics: i.diagnostics ?? '',
            ...(i.expression?.[0] === undefined ? {} : { expression: i.expression[0] }),
          }),
        ),
      );
    }
    if (error.status === 404) return outcomeError(404, 'not-found', `${what}: not found`);
    return unavailable(what);
  }
  return error as Error;
}

/**
 * Runs a handler and makes sure the request leaves an audit record even when it fails after the
 * guard: a failure is recorded (detached: the caller gets the error anyway) with outcome 4 (4xx) or
 * 8 (5xx); success records are written by the handler itself, awaited before answering.
 */
export async function audited<T>(
  audit: ExchangeAudit,
  caller: Caller,
  facts: AuditFacts,
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const status = error instanceof OperationOutcomeException ? error.getStatus() : 500;
    const auditDown =
      status === 503 &&
      error instanceof OperationOutcomeException &&
      JSON.stringify(error.outcome).includes('audit trail');
    if (!auditDown) {
      audit.detached(caller.principal, caller.context, {
        ...facts,
        outcome: status >= 500 ? '8' : '4',
        outcomeDesc: `${status}`,
      });
    }
    throw error;
  }
}

/** The JSON body of a request, which must be a `resourceType` resource (400 otherwise). */
export function jsonBody(request: Request, resourceType: string): unknown {
  const body = (request as { body?: unknown }).body;
  if (typeof body !== 'object' || body === null || Array.isArray(body) || Object.keys(body).length === 0) {
    throw outcomeError(
      400,
      'structure',
      `the body must be a ${resourceType} resource as JSON (application/fhir+json)`,
    );
  }
  if ((body as { resourceType?: unknown }).resourceType !== resourceType) {
    throw outcomeError(400, 'invalid', `the body must be a ${resourceType} resource`, 'resourceType');
  }
  return body;
}
