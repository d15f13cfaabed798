import { signClientAssertion, tokenRequestBody } from './client-assertion';
import { DEMO_CLIENTS_FILE, DEMO_KEYS_DIR, readClientKey, registeredScopes } from './demo-keys';

/*
 * A demo client of the exchange (the tour, the benchmarks): gets tokens for the demo region's
 * clients with their demo keys (SMART Backend Services) and calls the FHIR API — or, given a whole
 * URL, another service's operator API with an operator client's token.
 */

export interface Answer {
  readonly status: number;
  readonly json: Record<string, unknown>;
  readonly etag: string | null;
  readonly headers: Headers;
}

export class ExchangeCaller {
  private readonly tokens = new Map<string, string>();

  constructor(private readonly base: string) {}

  async call(
    client: string | null,
    path: string,
    init: {
      purpose?: string;
      method?: string;
      body?: unknown;
      headers?: Record<string, string>;
      contentType?: string;
      /** A body sent as is (e.g. CSV) instead of JSON. */
      rawBody?: string;
    } = {},
  ): Promise<Answer> {
    const headers: Record<string, string> = { accept: 'application/fhir+json', ...init.headers };
    if (client !== null) headers['authorization'] = `Bearer ${await this.token(client)}`;
    if (init.purpose !== undefined) headers['x-tessera-purpose-of-use'] = init.purpose;
    if (init.body !== undefined || init.rawBody !== undefined)
      headers['content-type'] = init.contentType ?? 'application/fhir+json';
    const body = init.rawBody ?? (init.body === undefined ? undefined : JSON.stringify(init.body));
    // A path is the exchange's; a whole URL names another service (the gateway's admin API).
    const response = await fetch(path.startsWith('http') ? path : `${this.base}${path}`, {
      method: init.method ?? 'GET',
      headers,
      ...(body === undefined ? {} : { body }),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await response.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // not JSON
    }
    return { status: response.status, json, etag: response.headers.get('etag'), headers: response.headers };
  }

  private async token(client: string): Promise<string> {
    const cached = this.tokens.get(client);
    if (cached !== undefined) return cached;
    const endpoint = `${this.base}/auth/token`;
    const assertion = await signClientAssertion(client, endpoint, readClientKey(DEMO_KEYS_DIR, client));
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: tokenRequestBody(assertion, registeredScopes(DEMO_CLIENTS_FILE, client)?.join(' ')),
    });
    const body = (await response.json()) as { access_token?: string; error?: string };
    if (body.access_token === undefined)
      throw new Error(`no token for ${client}: ${body.error ?? response.status}`);
    this.tokens.set(client, body.access_token);
    return body.access_token;
  }
}
