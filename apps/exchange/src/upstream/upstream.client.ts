import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
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

/** Sockets kept per service (keep-alive); requests beyond wait for a free one. */
const MAX_SOCKETS = 64;

/**
 * Calls one internal service: a timeout per call, the service token, JSON in and out. `json` (every
 * decision-path call) uses node:http with its own keep-alive Agent — cheaper per call than fetch's
 * WHATWG streams; `send` (streamed content, pass-through answers) uses fetch, which pools connections
 * too. Network errors and timeouts become UpstreamUnavailable (the exchange answers 503 and never
 * serves data it could not decide on).
 */
export class UpstreamClient {
  private readonly agent: HttpAgent;
  private readonly secure: boolean;

  constructor(
    readonly name: UpstreamName,
    private readonly baseUrl: string,
    private readonly timeoutMs: number,
    private readonly tokens: ServiceTokenSource,
  ) {
    this.secure = baseUrl.startsWith('https:');
    const agentOptions = { keepAlive: true, maxSockets: MAX_SOCKETS, maxFreeSockets: MAX_SOCKETS };
    this.agent = this.secure ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
  }

  /** Closes the kept-alive sockets (shutdown, tests). */
  close(): void {
    this.agent.destroy();
  }

  url(request: Pick<UpstreamRequest, 'path' | 'query'>): string {
    // `$` stays literal: FHIR operations ($ihe-pix, $content) are matched on the raw path.
    const path = request.path.map((s) => encodeURIComponent(s).replace(/%24/g, '$')).join('/');
    const query =
      request.query === undefined || request.query.size === 0 ? '' : `?${request.query.toString()}`;
    return `${this.baseUrl}/${path}${query}`;
  }

  private async prepare(
    request: UpstreamRequest,
  ): Promise<{ headers: Record<string, string>; body?: string }> {
    const token = await this.tokens.serviceToken();
    const headers: Record<string, string> = {
      accept: 'application/fhir+json, application/json',
      authorization: `Bearer ${token}`,
      ...request.headers,
    };
    if (request.body === undefined) return { headers };
    // application/json: parsed by every service (their FHIR readers accept it too).
    headers['content-type'] = 'application/json';
    return { headers, body: JSON.stringify(request.body) };
  }

  async send(request: UpstreamRequest): Promise<Response> {
    const { headers, body } = await this.prepare(request);
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
    const { headers, body } = await this.prepare(request);
    const response = await this.call(request.method ?? 'GET', this.url(request), headers, body);
    let parsed: unknown;
    try {
      parsed = JSON.parse(response.text);
    } catch (error) {
      if (accept.includes(response.status)) throw new UpstreamUnavailable(this.name, error);
      parsed = undefined;
    }
    if (!accept.includes(response.status)) throw new UpstreamStatusError(this.name, response.status, parsed);
    return { status: response.status, body: parsed as T, headers: response.headers };
  }

  /**
   * One request on the keep-alive agent; the whole exchange (connect to last byte) within the
   * timeout. A GET whose kept-alive socket was closed by the service before any answer (the usual
   * keep-alive race) is sent once more on a fresh socket.
   */
  private call(
    method: string,
    url: string,
    headers: Record<string, string>,
    body: string | undefined,
    retried = false,
  ): Promise<{ status: number; text: string; headers: Headers }> {
    return new Promise((resolve, reject) => {
      let done = false;
      let answered = false;
      const fail = (error: unknown) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (
          !retried &&
          !answered &&
          method === 'GET' &&
          req.reusedSocket &&
          (error as NodeJS.ErrnoException).code === 'ECONNRESET'
        ) {
          this.call(method, url, headers, body, true).then(resolve, reject);
          return;
        }
        reject(error instanceof UpstreamUnavailable ? error : new UpstreamUnavailable(this.name, error));
      };
      const onResponse = (res: IncomingMessage) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', fail);
        res.on('aborted', () => fail(new Error('aborted')));
        res.on('end', () => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          const out = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            if (typeof value === 'string') out.set(name, value);
            else if (Array.isArray(value)) for (const v of value) out.append(name, v);
          }
          resolve({
            status: res.statusCode ?? 0,
            text: Buffer.concat(chunks).toString('utf8'),
            headers: out,
          });
        });
      };
      const req = (this.secure ? httpsRequest : httpRequest)(
        url,
        {
          method,
          agent: this.agent,
          headers:
            body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        },
        onResponse,
      );
      const timer = setTimeout(() => {
        const error = new Error('timeout');
        error.name = 'TimeoutError';
        fail(error);
        req.destroy(error);
      }, this.timeoutMs);
      req.on('error', fail);
      req.end(body);
    });
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
