import type { CapabilityStatement, CapabilityStatementRestResource } from '@medplum/fhirtypes';
import { PURPOSES_OF_USE } from '@tessera/consent-policy';
import { capabilityTopicExtensions } from '@tessera/subscriptions';
import { ROUTES } from './route-table';
import type { RouteSpec } from './route-table';

const SMART_OAUTH_URIS = 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris';

/** FHIR R4 CapabilityStatement (§2.40) of the exchange, rendered from the route table. Pure. */
export function capabilityStatement(publicBase: string, now = new Date()): CapabilityStatement {
  const byType = new Map<string, RouteSpec[]>();
  for (const route of ROUTES) {
    if (route.resourceType === undefined) continue;
    byType.set(route.resourceType, [...(byType.get(route.resourceType) ?? []), route]);
  }
  const resource: CapabilityStatementRestResource[] = [...byType.entries()].map(([type, routes]) => {
    const interactions = [
      ...new Set(
        routes
          .map((r) => r.interaction)
          .filter((i): i is NonNullable<RouteSpec['interaction']> => i !== undefined && i !== 'operation'),
      ),
    ];
    const params = new Map<string, { name: string; type: string; documentation: string }>();
    for (const r of routes) {
      if (r.interaction !== 'search-type') continue;
      for (const p of r.searchParams ?? [])
        params.set(p.name, {
          name: p.name,
          type: p.type === 'number' ? 'number' : p.type,
          documentation: p.documentation,
        });
    }
    const operations = routes.filter((r) => r.operation !== undefined);
    return {
      // Topic-based subscriptions (Backport IG): the topics' canonicals on the Subscription entry.
      ...(type === 'Subscription' ? { extension: capabilityTopicExtensions() } : {}),
      type,
      interaction: interactions.map((code) => ({ code })),
      ...(params.size === 0
        ? {}
        : { searchParam: [...params.values()] as CapabilityStatementRestResource['searchParam'] }),
      ...(operations.length === 0
        ? {}
        : {
            operation: operations.map((r) => ({
              name: r.operation ?? '',
              definition: `${publicBase}/fhir/OperationDefinition/${type}-${r.operation ?? ''}`,
              documentation: r.summary,
            })),
          }),
    } as CapabilityStatementRestResource;
  });
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: now.toISOString(),
    kind: 'instance',
    software: { name: 'Tessera exchange' },
    implementation: {
      description: 'Tessera regional health-information exchange',
      url: `${publicBase}/fhir`,
    },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    rest: [
      {
        mode: 'server',
        documentation: `Every clinical request carries X-Tessera-Purpose-Of-Use (${PURPOSES_OF_USE.join(', ')}); break-the-glass is ETREAT plus X-Tessera-Break-Glass-Reason.`,
        security: {
          cors: false,
          service: [
            {
              coding: [
                {
                  system: 'http://terminology.hl7.org/CodeSystem/restful-security-service',
                  code: 'SMART-on-FHIR',
                },
              ],
              text: 'OAuth2 client credentials with a signed JWT assertion (SMART Backend Services)',
            },
          ],
          extension: [
            {
              url: SMART_OAUTH_URIS,
              extension: [{ url: 'token', valueUri: `${publicBase}/auth/token` }],
            },
          ],
        },
        resource,
      },
    ],
  };
}

function openApiPath(route: RouteSpec): Record<string, unknown> {
  const pathParams = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
    name: m[1],
    in: 'path',
    required: true,
    schema:
      m[1] === 'sha256'
        ? { type: 'string', pattern: '^[0-9a-f]{64}$' }
        : { type: 'string', pattern: '^[A-Za-z0-9\\-.]{1,64}$' },
  }));
  const queryParams = (route.searchParams ?? []).map((p) => ({
    name: p.name,
    in: 'query',
    required: p.required ?? false,
    description: p.documentation,
    schema: p.type === 'number' ? { type: 'integer', minimum: 0 } : { type: 'string', maxLength: 512 },
  }));
  const headers = route.purposeRequired
    ? [
        {
          name: 'X-Tessera-Purpose-Of-Use',
          in: 'header',
          required: true,
          schema: { type: 'string', enum: [...PURPOSES_OF_USE] },
        },
        {
          name: 'X-Tessera-Break-Glass-Reason',
          in: 'header',
          required: false,
          schema: { type: 'string', minLength: 5, maxLength: 500 },
        },
        {
          name: 'X-Tessera-On-Behalf-Of',
          in: 'header',
          required: false,
          schema: { type: 'string', maxLength: 200 },
        },
      ]
    : [];
  const media =
    route.produces === 'fhir'
      ? 'application/fhir+json'
      : route.produces === 'json'
        ? 'application/json'
        : route.produces === 'html'
          ? 'text/html'
          : 'application/octet-stream';
  const errors = Object.fromEntries(
    (route.access === 'public' ? ['404'] : ['400', '401', '403', '404', '413', '429', '503']).map((code) => [
      code,
      {
        description: ERROR_TEXT[code] ?? code,
        content: { 'application/fhir+json': { schema: { $ref: '#/components/schemas/OperationOutcome' } } },
      },
    ]),
  );
  return {
    operationId: route.id,
    summary: route.summary,
    ...(route.access === 'public' ? { security: [] } : { security: [{ smartBackend: [...route.access] }] }),
    parameters: [...pathParams, ...queryParams, ...headers],
    ...(route.method === 'GET'
      ? {}
      : {
          requestBody: {
            required: true,
            content: { 'application/fhir+json': { schema: { type: 'object' } } },
          },
        }),
    responses: {
      [route.interaction === 'create' ? '201' : '200']: { description: 'success', content: { [media]: {} } },
      ...errors,
    },
  };
}

const ERROR_TEXT: Readonly<Record<string, string>> = {
  '400': 'invalid request (parameters, headers, JSON body)',
  '401': 'missing, invalid, expired or forged token, or wrong audience',
  '403': 'scope or purpose of use not allowed for this client, or not permitted',
  '404': 'unknown resource or route',
  '413': 'body larger than 1 MiB',
  '429': 'rate limit of the client exceeded (Retry-After)',
  '503': 'a dependency (consent, audit, registry, MPI) is unavailable; nothing was returned',
};

/** OpenAPI 3.1 document of every route of the exchange, rendered from the route table. Pure. */
export function openApiDocument(publicBase: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of ROUTES) {
    paths[route.path] = { ...(paths[route.path] ?? {}), [route.method.toLowerCase()]: openApiPath(route) };
  }
  paths['/auth/token'] = {
    post: {
      operationId: 'token',
      summary:
        'OAuth2 client credentials with a JWT client assertion (SMART Backend Services); see the Authentication section of the README',
      security: [],
      requestBody: {
        required: true,
        content: { 'application/x-www-form-urlencoded': { schema: { type: 'object' } } },
      },
      responses: {
        '200': { description: 'access token' },
        '400': { description: 'RFC 6749 §5.2 error' },
        '401': { description: 'invalid_client' },
      },
    },
  };
  paths['/.well-known/jwks.json'] = {
    get: {
      operationId: 'jwks',
      summary: 'public keys of the token issuer (ES256)',
      security: [],
      responses: { '200': { description: 'JWK set' } },
    },
  };
  paths['/fhir/.well-known/smart-configuration'] = {
    get: {
      operationId: 'smartConfiguration',
      summary: 'SMART configuration (token endpoint, auth methods, scopes)',
      security: [],
      responses: { '200': { description: 'SMART configuration' } },
    },
  };
  return {
    openapi: '3.1.0',
    info: {
      title: 'Tessera exchange API',
      version: '1.0.0',
      description: 'The one FHIR R4 base URL of the region for institutions.',
    },
    servers: [{ url: publicBase }],
    paths,
    components: {
      securitySchemes: {
        smartBackend: {
          type: 'oauth2',
          flows: { clientCredentials: { tokenUrl: `${publicBase}/auth/token`, scopes: scopesOf() } },
        },
      },
      schemas: {
        OperationOutcome: {
          type: 'object',
          required: ['resourceType', 'issue'],
          properties: {
            resourceType: { const: 'OperationOutcome' },
            issue: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  severity: { type: 'string' },
                  code: { type: 'string' },
                  diagnostics: { type: 'string' },
                  expression: { type: 'array', items: { type: 'string' } },
                },
              },
            },
          },
        },
      },
    },
  };
}

function scopesOf(): Record<string, string> {
  const scopes: Record<string, string> = {};
  for (const r of ROUTES)
    if (r.access !== 'public') for (const s of r.access) scopes[s] = `needed by ${r.path}`;
  return scopes;
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A self-contained HTML page listing the routes of the OpenAPI document (no scripts, no CDN). */
export function docsPage(openApi: Record<string, unknown>): string {
  const paths = openApi['paths'] as Record<
    string,
    Record<
      string,
      {
        summary?: string;
        security?: { smartBackend?: string[] }[];
        parameters?: { name: string; in: string; required?: boolean }[];
      }
    >
  >;
  const rows = Object.entries(paths)
    .flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => {
        const scopes = op.security?.[0]?.smartBackend?.join(' ') ?? 'public';
        const params = (op.parameters ?? [])
          .filter((p) => p.in !== 'header')
          .map((p) => (p.required === true ? `<b>${escape(p.name)}</b>` : escape(p.name)))
          .join(', ');
        return `<tr><td><code>${method.toUpperCase()}</code></td><td><code>${escape(path)}</code></td><td>${escape(op.summary ?? '')}</td><td><code>${escape(scopes)}</code></td><td>${params}</td></tr>`;
      }),
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tessera exchange API</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}</style>
</head><body><h1>Tessera exchange API</h1>
<p>FHIR R4 base <code>/fhir</code>. Machine-readable: <a href="/openapi.json">/openapi.json</a>, <a href="/fhir/metadata">/fhir/metadata</a>.
Clinical calls need <code>Authorization: Bearer</code> and <code>X-Tessera-Purpose-Of-Use</code>.</p>
<table><thead><tr><th>Method</th><th>Path</th><th>What</th><th>Scopes</th><th>Parameters (bold: required)</th></tr></thead>
<tbody>
${rows}
</tbody></table></body></html>
`;
}
