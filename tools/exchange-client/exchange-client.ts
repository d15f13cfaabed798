import { parseArgs } from 'node:util';
import { signClientAssertion, tokenRequestBody } from './client-assertion';
import {
  DEMO_CLIENTS_FILE,
  DEMO_KEYS_DIR,
  generateClientKey,
  readClientKey,
  registeredScopes,
} from './demo-keys';

/*
 * A small SMART Backend Services client for the demo region:
 *   node dist/tools/exchange-client/exchange-client.js token --client sta-ehr [--scope "..."]
 *   node dist/tools/exchange-client/exchange-client.js get /fhir/Patient?identifier=... --client sta-ehr --purpose TREAT
 *   node dist/tools/exchange-client/exchange-client.js keygen --client new-client [--alg ES384|RS384]
 * It signs a client assertion with the client's demo key (deploy/demo-region/keys), gets an access
 * token from POST /auth/token and calls the exchange. EXCHANGE_URL (default http://127.0.0.1:8080).
 */

const USAGE = `usage:
  exchange-client token  --client <id> [--scope "<scopes>"] [--url <exchange>]
  exchange-client get    <path> --client <id> [--purpose <TREAT|ETREAT|...>] [--break-glass-reason <text>] [--on-behalf-of <user>] [--scope ...] [--url ...] [--api <base>]
    (--api calls another service's API, e.g. http://127.0.0.1:8081 for the gateway's ledger, with the exchange's token;
     --purpose is required by the exchange's clinical routes, not by operator APIs)
  exchange-client keygen --client <id> [--alg ES384|RS384]
options: --keys-dir (default ${DEMO_KEYS_DIR}), --clients-file (default ${DEMO_CLIENTS_FILE})`;

interface TokenResponse {
  readonly access_token?: string;
  readonly error?: string;
  readonly error_description?: string;
}

/** Attempts at a call the exchange answers 429 (rate limited), waiting Retry-After seconds between. */
const RATE_LIMITED_ATTEMPTS = 4;

/**
 * Sends `request()` again while the exchange answers 429, after the Retry-After it names (at most
 * 5 s), as a well-behaved client of a rate-limited API does; the last answer is returned.
 */
async function respectingRateLimit(request: () => Promise<Response>): Promise<Response> {
  for (let attempt = 1; ; attempt += 1) {
    const response = await request();
    if (response.status !== 429 || attempt >= RATE_LIMITED_ATTEMPTS) return response;
    await response.arrayBuffer();
    const seconds = Math.min(Math.max(Number(response.headers.get('retry-after') ?? '1') || 1, 1), 5);
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  }
}

async function requestToken(
  base: string,
  clientId: string,
  keysDir: string,
  scope: string | undefined,
): Promise<{ status: number; body: TokenResponse }> {
  const tokenEndpoint = `${base}/auth/token`;
  const key = readClientKey(keysDir, clientId);
  // Each attempt signs a new assertion: an assertion's jti is single-use.
  const response = await respectingRateLimit(async () =>
    fetch(tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: tokenRequestBody(await signClientAssertion(clientId, tokenEndpoint, key), scope),
    }),
  );
  return { status: response.status, body: (await response.json()) as TokenResponse };
}

async function main(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      client: { type: 'string' },
      scope: { type: 'string' },
      purpose: { type: 'string' },
      'break-glass-reason': { type: 'string' },
      'on-behalf-of': { type: 'string' },
      url: { type: 'string' },
      api: { type: 'string' },
      alg: { type: 'string' },
      'keys-dir': { type: 'string' },
      'clients-file': { type: 'string' },
    },
  });
  const [command, target] = positionals;
  const clientId = values.client;
  if (command === undefined || clientId === undefined) {
    process.stderr.write(`${USAGE}\n`);
    return 64;
  }
  const base = (values.url ?? process.env['EXCHANGE_URL'] ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
  const keysDir = values['keys-dir'] ?? DEMO_KEYS_DIR;
  const scope =
    values.scope ?? registeredScopes(values['clients-file'] ?? DEMO_CLIENTS_FILE, clientId)?.join(' ');

  switch (command) {
    case 'keygen': {
      const alg = values.alg ?? 'ES384';
      if (alg !== 'ES384' && alg !== 'RS384') throw new Error('--alg must be ES384 or RS384');
      const publicJwk = await generateClientKey(keysDir, clientId, alg);
      process.stdout.write(`${JSON.stringify(publicJwk)}\n`);
      return 0;
    }
    case 'token': {
      const { status, body } = await requestToken(base, clientId, keysDir, scope);
      process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
      return status === 200 ? 0 : 1;
    }
    case 'get': {
      if (target === undefined) {
        process.stderr.write(`${USAGE}\n`);
        return 64;
      }
      const token = await requestToken(base, clientId, keysDir, scope);
      if (token.status !== 200 || token.body.access_token === undefined) {
        process.stdout.write(`${JSON.stringify(token.body, null, 2)}\n`);
        return 1;
      }
      const headers: Record<string, string> = {
        authorization: `Bearer ${token.body.access_token}`,
        accept: 'application/fhir+json, application/json',
      };
      if (values.purpose !== undefined) headers['x-tessera-purpose-of-use'] = values.purpose;
      if (values['break-glass-reason'] !== undefined)
        headers['x-tessera-break-glass-reason'] = values['break-glass-reason'];
      if (values['on-behalf-of'] !== undefined) headers['x-tessera-on-behalf-of'] = values['on-behalf-of'];
      const apiBase = (values.api ?? base).replace(/\/+$/, '');
      const url = `${apiBase}${target.startsWith('/') ? '' : '/'}${target}`;
      const response = await respectingRateLimit(() => fetch(url, { headers }));
      const text = await response.text();
      let output = text;
      try {
        output = JSON.stringify(JSON.parse(text) as unknown, null, 2);
      } catch {
        // not JSON (a Binary): print as is
      }
      process.stderr.write(`HTTP ${response.status}\n`);
      process.stdout.write(`${output}\n`);
      return response.ok ? 0 : 1;
    }
    default:
      process.stderr.write(`${USAGE}\n`);
      return 64;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    // Exit only once stdout has drained: a large answer piped to another program is not cut short.
    (code) => process.stdout.write('', () => process.exit(code)),
    (error: unknown) => {
      process.stderr.write(`exchange-client: ${(error as Error).message}\n`, () => process.exit(1));
    },
  );
}
