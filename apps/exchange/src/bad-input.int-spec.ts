// Bad input at the exchange (its own process from dist): oversized bodies, malformed JSON, injection
// strings and invalid dates/identifiers in search parameters and paths → a clean 4xx
// OperationOutcome (no stack trace, no echo of the value), and nothing forwarded or stored.

import { loadConfig, postgresConfig } from '@tessera/platform-config';
import { Topics } from '@tessera/contracts';
import {
  dropTestDatabase,
  freePort,
  startServiceProcess,
  testKafka,
  TopicWatcher,
  uniqueTestId,
} from '@tessera/testing';
import { call } from './testing/exchange-client';
import type { CallResult } from './testing/exchange-client';
import { ExchangeFixture, STA } from './testing/exchange-fixture';
import type { ExchangeUnderTest, TestingKit } from './testing/exchange-fixture';

const testingKit = (): TestingKit => ({
  uniqueTestId,
  freePort,
  startServiceProcess,
  openAuditWatcher: () => TopicWatcher.open(testKafka(`exchange-audit-${uniqueTestId('w')}`), Topics.audit),
  dropTestDatabase: (database) => dropTestDatabase(loadConfig(postgresConfig), database),
});

const fx = new ExchangeFixture(testingKit());
let exchange: ExchangeUnderTest;
let token: string;

beforeAll(async () => {
  await fx.start();
  exchange = await fx.spawnExchange();
  token = await fx.token({});
}, 120_000);

afterAll(async () => {
  await fx.stop();
});

function expectClean(result: CallResult, status: number, code?: string): void {
  expect({ status: result.status, resourceType: result.json?.resourceType }).toEqual({
    status,
    resourceType: 'OperationOutcome',
  });
  expect(result.headers.get('content-type')).toContain('application/fhir+json');
  expect(result.text).not.toMatch(/\bat .+:\d+:\d+|node_modules|Error:/); // no stack trace
  if (code !== undefined) expect(result.json.issue[0].code).toBe(code);
}

const INJECTIONS = [
  "' OR 1=1 --",
  '<script>alert(1)</script>',
  '../../etc/passwd',
  'x"; DROP TABLE registry_items; --',
  'a\u0000b',
  'line\r\nX-Injected: 1',
];

describe('bodies', () => {
  it('a body over 1 MiB → 413 too-costly, nothing reaches the consent service', async () => {
    const before = fx.world.callsTo('consent').length;
    const big = JSON.stringify({ resourceType: 'Consent', note: 'x'.repeat(1024 * 1024 + 10) });
    expectClean(
      await call(exchange.url, '/fhir/Consent', { token, method: 'POST', rawBody: big }),
      413,
      'too-costly',
    );
    expectClean(
      await call(exchange.url, '/fhir/Patient/$match', { token, method: 'POST', rawBody: big }),
      413,
      'too-costly',
    );
    expect(fx.world.callsTo('consent').length).toBe(before);
  });

  it.each([
    ['truncated JSON', '{"resourceType": "Consent",', 'application/fhir+json', 400],
    ['not JSON at all', 'resourceType=Consent', 'application/fhir+json', 400],
    ['a JSON array', '[1,2,3]', 'application/json', 400],
    ['another resource', '{"resourceType":"Patient"}', 'application/fhir+json', 400],
    ['text/plain', '{"resourceType":"Consent"}', 'text/plain', 400],
    ['empty', '', 'application/fhir+json', 400],
  ])('Consent with %s → 400, nothing stored', async (_what, body, type, status) => {
    const before = fx.world.callsTo('consent').length;
    const result = await call(exchange.url, '/fhir/Consent', {
      token,
      method: 'POST',
      rawBody: body,
      headers: { 'content-type': type },
    });
    expectClean(result, status);
    expect(fx.world.callsTo('consent').length).toBe(before);
  });

  it('$match with malformed JSON → 400 structure', async () => {
    expectClean(
      await call(exchange.url, '/fhir/Patient/$match', {
        token,
        method: 'POST',
        rawBody: '{"resourceType":',
      }),
      400,
      'structure',
    );
  });
});

describe('search parameters and paths', () => {
  const patient = () => encodeURIComponent(`${STA.system}|STA-s-${fx.run}`);
  // Where the value must be refused: identifiers, references, dates.
  const strict = [
    (v: string) => `/fhir/DocumentReference?patient=${encodeURIComponent(v)}`,
    (v: string) => `/fhir/Observation?patient=${patient()}&date=${encodeURIComponent(v)}`,
    (v: string) => `/fhir/Patient/$ihe-pix?sourceIdentifier=${encodeURIComponent(v)}`,
    (v: string) => `/fhir/AuditEvent?patient=${encodeURIComponent(v)}`,
    (v: string) => `/fhir/Consent?patient=${encodeURIComponent(v)}`,
  ];
  it.each(INJECTIONS.flatMap((v) => strict.map((r, i) => [v, i, r] as const)))(
    '%j in strict route #%i → 400 OperationOutcome, not echoed, nothing forwarded',
    async (value, _i, route) => {
      const before = fx.world.calls.length;
      const result = await call(exchange.url, route(value), { token });
      expectClean(result, 400);
      expect(result.text).not.toContain(value.slice(0, 10));
      expect(fx.world.calls.slice(before)).toEqual([]);
    },
  );

  // Free text (a family name may hold a quote: O'Brien): refused when it carries markup or control
  // characters, otherwise forwarded only as one URL-encoded query value, never into a path.
  const lenient = [
    {
      path: (v: string) => `/fhir/Patient?family=${encodeURIComponent(v)}`,
      service: 'mpi' as const,
      upstreamPath: '/Patient',
      param: 'family',
    },
    {
      path: (v: string) => `/fhir/Encounter?patient=${patient()}&type=${encodeURIComponent(v)}`,
      service: 'registry' as const,
      upstreamPath: '/Encounter',
      param: 'type',
    },
  ];
  it.each(INJECTIONS.flatMap((v) => lenient.map((r, i) => [v, i, r] as const)))(
    '%j in free-text route #%i → clean 400, or forwarded as one query value only',
    async (value, _i, route) => {
      const before = fx.world.calls.length;
      const result = await call(exchange.url, route.path(value), { token });
      expect(result.text).not.toContain(value.slice(0, 10));
      if (result.status === 400) {
        expectClean(result, 400);
        expect(fx.world.calls.slice(before).filter((c) => c.service === route.service)).toEqual([]);
        return;
      }
      expect(result.status).toBe(200);
      const forwarded = fx.world.calls.slice(before).filter((c) => c.service === route.service);
      expect(forwarded.length).toBeGreaterThan(0);
      for (const c of forwarded) {
        const url = new URL(c.path, 'http://upstream');
        expect(url.pathname).toBe(route.upstreamPath);
        expect(url.searchParams.getAll(route.param)).toEqual([value]);
      }
    },
  );

  it.each([
    [
      'invalid date',
      `/fhir/DocumentReference?patient=${encodeURIComponent(`${STA.system}|X`)}&date=2026-13-45`,
    ],
    [
      'date with words',
      `/fhir/DocumentReference?patient=${encodeURIComponent(`${STA.system}|X`)}&date=yesterday`,
    ],
    ['two-bar identifier', `/fhir/DocumentReference?patient=${encodeURIComponent('a|b|c')}`],
    ['empty patient', '/fhir/DocumentReference?patient='],
    ['missing patient', '/fhir/DocumentReference'],
    ['patient twice', `/fhir/DocumentReference?patient=a&patient=b`],
    ['negative _count', `/fhir/Patient?family=x&_count=-5`],
    ['huge _count', `/fhir/Patient?family=x&_count=100000000`],
    ['unknown parameter', `/fhir/DocumentReference?patient=a&_include=*`],
    ['over-long value', `/fhir/Patient?family=${'x'.repeat(2000)}`],
    ['path traversal in an id', '/fhir/DocumentReference/%2E%2E%2F%2E%2E%2Fetc/_history'],
    ['id with a quote', `/fhir/Encounter/${encodeURIComponent("1' OR '1'='1")}/_history`],
    ['Binary that is not a SHA-256', '/fhir/Binary/not-a-digest'],
    ['timeline of a malformed id', `/fhir/Patient/${encodeURIComponent('<x>')}/$timeline`],
    ['PIX without system', '/fhir/Patient/$ihe-pix?sourceIdentifier=12345'],
  ])('%s → 400', async (_what, path) => {
    const before = fx.world.callsTo('registry').length;
    const result = await call(exchange.url, path, { token });
    expectClean(result, 400);
    expect(fx.world.callsTo('registry').length).toBe(before);
  });

  it('PUT Consent with a malformed id → 400, nothing stored', async () => {
    const before = fx.world.callsTo('consent').length;
    expectClean(
      await call(exchange.url, `/fhir/Consent/${encodeURIComponent('a b;c')}`, {
        token,
        method: 'PUT',
        body: { resourceType: 'Consent' },
      }),
      400,
    );
    expect(fx.world.callsTo('consent').length).toBe(before);
  });

  it('unknown routes → 404 OperationOutcome that does not echo the path', async () => {
    const result = await call(exchange.url, `/fhir/Secret/${fx.run}-SSN-123`, { token });
    expectClean(result, 404, 'not-found');
    expect(result.text).not.toContain('SSN-123');
    expectClean(await call(exchange.url, '/definitely/not/here', {}), 404);
  });

  it('a header with a bad purpose or on-behalf-of is refused before anything is forwarded', async () => {
    const before = fx.world.calls.length;
    expectClean(
      await call(exchange.url, `/fhir/DocumentReference?patient=a`, { token, purpose: "TREAT' OR 1=1" }),
      400,
      'code-invalid',
    );
    expectClean(
      await call(exchange.url, `/fhir/DocumentReference?patient=a`, {
        token,
        headers: { 'x-tessera-on-behalf-of': 'x'.repeat(300) },
      }),
      400,
    );
    expect(fx.world.calls.length).toBe(before);
  });
});
