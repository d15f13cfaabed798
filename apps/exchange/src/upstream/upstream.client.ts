import { HttpStatus } from '@nestjs/common';
import type { OperationOutcomeException } from '@tessera/platform-service';
import { outcomeError } from '../http/outcome';

/** The exchange's own service token for calls to the MPI, registry and consent service (B's minter). */
export interface ServiceTokenSource {
  serviceToken(): Promise<string>;
}
export const SERVICE_TOKEN_SOURCE = Symbol('SERVICE_TOKEN_SOURCE');

export type UpstreamName = 'mpi' | 'registry' | 'consent';

export interface UpstreamRequest {
  readonly method?: 'GET' | 'POST' | 'PUT';
  /** Path segments; each is percent-encoded on its own, so input can never add a segment or a query. */
  readonly path: readonly string[];
  readonly query?: URLSearchParams;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: unknown;
}

/**
 * Calls one internal service: keep-alive (Node's fetch pools connections per origin), a timeout per
 * call, the service token, JSON in and out. Network errors and timeouts become UpstreamUnavailable
 * (the exchange answers 503 and never serves data it could not decide on).
 */
export class UpstreamClient {
  constructor(
    readonly name: UpstreamName,
    private readonly baseUrl: string,
    private readonly timeoutMs: number,
    private readonly tokens: ServiceTokenSource,
  ) {}

  url(request: Pick<UpstreamRequest, 'path' | 'query'>): string {
    // `$` stays literal: FHIR operations ($ihe-pix, $content) are matched on the raw path.
    const path = request.path.map((s) => encodeURIComponent(s).replace(/%24/g, '$')).join('/');
    const query =
      request.query === undefined || request.query.size === 0 ? '' : `?${request.query.toString()}`;
    return `${this.baseUrl}/${path}${query}`;
  }

  async send(request: UpstreamRequest): Promise<Response> {
    const token = await this.tokens.serviceToken();
    const headers: Record<string, string> = {
      accept: 'application/fhir+json, application/json',
      authorization: `Bearer ${token}`,
      ...request.headers,
    };
    let body: string | undefined;
    if (request.body !== undefined) {
      body = JSON.stringify(request.body);
      // application/json: parsed by every service (their FHIR readers accept it too).
      headers['content-type'] = 'application/json';
    }
    try {
      return await fetch(this.url(request), {
        method: request.method ?? 'GET',
        headers,
        ...(body === undefined ? {} : { body }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new UpstreamUnavailable(this.name, error);
    }
  }

  /** `send` and parse JSON; any status outside `accept` becomes UpstreamStatusError. */
  async json<T>(
    request: UpstreamRequest,
    accept: readonly number[] = [200],
  ): Promise<{ status: number; body: T; headers: Headers }> {
    const response = await this.send(request);
    let parsed: unknown;
    try {
      parsed = await response.json();
    } catch (error) {
      if (accept.includes(response.status)) throw new UpstreamUnavailable(this.name, error);
      parsed = undefined;
    }
    if (!accept.includes(response.status)) throw new UpstreamStatusError(this.name, response.status, parsed);
    return { status: response.status, body: parsed as T, headers: response.headers };
  }
}

/** The service could not be reached or did not answer in time. */
export class UpstreamUnavailable extends Error {
  constructor(
    readonly upstream: UpstreamName,
    cause: unknown,
  ) {
    super(`${upstream} unavailable: ${cause instanceof Error ? cause.name : 'error'}`);
    this.name = 'UpstreamUnavailable';
  }
}

/** The service answered with an unexpected status; `body` is its (OperationOutcome) answer if JSON. */
export class UpstreamStatusError extends Error {
  constructor(
    readonly upstream: UpstreamName,
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`${upstream} answered ${status}`);
    this.name = 'UpstreamStatusError';
  }
}

/** 503 OperationOutcome for a dependency that failed: nothing is served that was not decided and audited. */
export function unavailable(what: string): OperationOutcomeException {
  return outcomeError(
    HttpStatus.SERVICE_UNAVAILABLE,
    'transient',
    `${what} is unavailable; nothing was returned. Try again shortly.`,
  );
}
