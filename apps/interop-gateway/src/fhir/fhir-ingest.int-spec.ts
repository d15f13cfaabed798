// FHIR ingest through the real gateway (in-process, real Postgres, Redis and Kafka): an institution
// may send patient identifiers only under systems it owns. A Bundle claiming an enterprise id or
// another institution's patient number is refused 400, stored nowhere and published nowhere.
import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import { Topics } from '@tessera/contracts';
import { loadPlatformSettings, migrateService } from '@tessera/platform-service';
import {
  dropTestDatabase,
  freePort,
  startTestIssuer,
  testKafka,
  TopicWatcher,
  uniqueTestId,
} from '@tessera/testing';
import type { TestIssuer } from '@tessera/testing';

const RUN = uniqueTestId('gf');
const DATABASE = `tessera_gateway_fhir_test_${RUN}`;
const ENTERPRISE_ID_SYSTEM = 'urn:tessera:enterprise-id';

interface Registered {
  readonly id: string;
  readonly system: string;
}

let app: INestApplication;
let issuer: TestIssuer;
let baseUrl: string;
let dataSource: DataSource;
let patients: TopicWatcher;

async function http(method: string, url: string, token: string, body?: unknown) {
  const response = await fetch(`${baseUrl}${url}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined
        ? {}
        : { 'content-type': url.startsWith('/fhir') ? 'application/fhir+json' : 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    text,
    json: (text === '' ? {} : JSON.parse(text)) as Record<string, unknown>,
  };
}

function operatorToken(): Promise<string> {
  return issuer.mint({ kind: 'operator', clientId: 'ops-fhir-test', roles: ['platform.admin'] });
}

function institutionToken(institutionId: string): Promise<string> {
  return issuer.mint({
    kind: 'institution',
    clientId: `${institutionId}-client`,
    institutionId,
    scopes: ['system/Bundle.write'],
  });
}

function registration(id: string, system: string) {
  return {
    id,
    name: 'Synthetic integration hospital',
    sendingFacilities: [id.toUpperCase()],
    assigningAuthorities: [{ namespace: id.toUpperCase(), system, default: true }],
    feed: {},
  };
}

async function register(): Promise<Registered> {
  const tag = uniqueTestId('fi');
  const institution = {
    id: `it-${tag}`,
    system: `urn:oid:2.16.840.1.113883.3.7778.${Date.now()}.${tag.length}`,
  };
  const created = await http(
    'POST',
    '/admin/institutions',
    await operatorToken(),
    registration(institution.id, institution.system),
  );
  expect(created.status).toBe(201);
  return institution;
}

function transaction(identifiers: ReadonlyArray<{ system: string; value: string }>) {
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    identifier: { system: 'urn:ietf:rfc:3986', value: `urn:uuid:${randomUUID()}` },
    entry: [
      {
        fullUrl: `urn:uuid:${randomUUID()}`,
        resource: {
          resourceType: 'Patient',
          identifier: identifiers,
          name: [{ family: 'Synthetic', given: ['Test'] }],
        },
        request: { method: 'POST', url: 'Patient' },
      },
    ],
  };
}

async function count(sql: string, params: unknown[]): Promise<number> {
  const rows = await dataSource.query<Array<{ n: number }>>(sql, params);
  return rows[0]?.n ?? -1;
}

beforeAll(async () => {
  issuer = await startTestIssuer();
  process.env['AUTH_ISSUER'] = issuer.env.AUTH_ISSUER;
  process.env['AUTH_JWKS_URL'] = issuer.env.AUTH_JWKS_URL;
  process.env['DB_NAME'] = DATABASE;
  process.env['HTTP_PORT'] = String(await freePort());
  process.env['MLLP_PORT'] = String(await freePort());
  // FHIR ingest and the outbox relay only: no mapper consumer group to wait for.
  process.env['GATEWAY_ROLES'] = 'mllp';
  process.env['INSTITUTIONS_SEED_FILE'] = '';
  process.env['LOG_LEVEL'] = process.env['LOG_LEVEL'] ?? 'warn';
  const { AppModule, serviceOptions } = await import('../app.module');
  await migrateService(serviceOptions, loadPlatformSettings(serviceOptions));
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  app = moduleRef.createNestApplication({ logger: ['error', 'warn'] });
  await app.listen(Number(process.env['HTTP_PORT']), '127.0.0.1');
  baseUrl = `http://127.0.0.1:${process.env['HTTP_PORT']}`;
  dataSource = app.get(DataSource);
  patients = await TopicWatcher.open(testKafka(`gateway-fhir-${RUN}`), Topics.patient);
}, 120_000);

afterAll(async () => {
  await patients?.close();
  await app?.close();
  await issuer?.close();
  await dropTestDatabase(
    loadPlatformSettings((await import('../app.module')).serviceOptions).postgres,
    DATABASE,
  );
});

describe('FHIR ingest: patient identifiers the sender does not own', () => {
  it("refuses a Patient claiming an enterprise id and another institution's number: 400, nothing stored or published", async () => {
    const x = await register();
    const y = await register();
    const token = await institutionToken(x.id);
    const victim = randomUUID();
    const attackMrn = uniqueTestId('NEW');
    const refused = await http(
      'POST',
      '/fhir',
      token,
      transaction([
        { system: x.system, value: attackMrn },
        { system: ENTERPRISE_ID_SYSTEM, value: victim },
        { system: y.system, value: 'Y-123' },
      ]),
    );
    expect(refused.status).toBe(400);
    expect(refused.json['resourceType']).toBe('OperationOutcome');
    const issues = refused.json['issue'] as Array<{
      code: string;
      expression: string[];
      diagnostics: string;
    }>;
    expect(issues.map((i) => [i.code, i.expression[0]])).toEqual([
      ['business-rule', 'Bundle.entry[0].resource.identifier[1]'],
      ['business-rule', 'Bundle.entry[0].resource.identifier[2]'],
    ]);
    expect(issues[0].diagnostics).toContain("the exchange's own");
    expect(issues[1].diagnostics).toContain('another institution');
    for (const value of [victim, 'Y-123', attackMrn, y.id]) expect(refused.text).not.toContain(value);

    expect(
      await count('SELECT count(*)::int AS n FROM ledger_messages WHERE institution_id = $1', [x.id]),
    ).toBe(0);
    expect(
      await count(`SELECT count(*)::int AS n FROM messaging_outbox WHERE "key" LIKE $1`, [`${x.id}|%`]),
    ).toBe(0);

    // The same institution's own patient still goes through; once its event is on hie.patient the
    // refused one would have been too (the outbox publishes in order), and it is not there.
    const ownMrn = uniqueTestId('OWN');
    const accepted = await http('POST', '/fhir', token, transaction([{ system: x.system, value: ownMrn }]));
    expect(accepted.status).toBe(200);
    await patients.waitFor((r) => r.key === `${x.id}|${ownMrn}`, 1, { timeoutMs: 60_000 });
    expect(patients.records.filter((r) => r.key === `${x.id}|${attackMrn}`)).toEqual([]);
    expect(
      await count('SELECT count(*)::int AS n FROM ledger_messages WHERE institution_id = $1', [x.id]),
    ).toBe(1);
  });

  it('refuses to register the enterprise-id system (or any urn:tessera: system) as an assigning authority', async () => {
    const token = await operatorToken();
    for (const system of [ENTERPRISE_ID_SYSTEM, 'urn:tessera:aa:other-hospital:LEGACY']) {
      const refused = await http(
        'POST',
        '/admin/institutions',
        token,
        registration(`it-${uniqueTestId('rs')}`, system),
      );
      expect(refused.status).toBe(400);
      const issues = refused.json['issue'] as Array<{ expression: string[]; diagnostics: string }>;
      expect(issues.map((i) => i.expression[0])).toEqual(['assigningAuthorities[0].system']);
      expect(issues[0].diagnostics).toContain('reserved for the exchange');
    }
  });
});
