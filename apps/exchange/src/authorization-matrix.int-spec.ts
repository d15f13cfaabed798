// The authorization matrix of the exchange: every endpoint × caller situation → status, what is
// visible (ids, totals) and the audit record on hie.audit. The exchange runs as its own process
// from dist (real Postgres, Redis, Kafka, its real token verification, client registry and audit
// writer); the MPI, registry and consent service are contract stand-ins (testing/fake-upstreams.ts)
// that filter with the pushed-down visibility like the real registry's SQL does.
/* eslint-disable @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call -- assertions walk parsed JSON answers */
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
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { call, idsOf } from './testing/exchange-client';
import type { CallResult } from './testing/exchange-client';
import {
  ALL_READ,
  auditData,
  ExchangeFixture,
  FAMILY,
  LINKED_FAMILY,
  RIV,
  STA,
} from './testing/exchange-fixture';
import type { AuditData, ExchangeUnderTest, TestingKit } from './testing/exchange-fixture';

function testingKit(): TestingKit {
  return {
    uniqueTestId,
    freePort,
    startServiceProcess,
    openAuditWatcher: () => TopicWatcher.open(testKafka(`exchange-audit-${uniqueTestId('w')}`), Topics.audit),
    dropTestDatabase: (database) => dropTestDatabase(loadConfig(postgresConfig), database),
  };
}

const fx = new ExchangeFixture(testingKit());
let exchange: ExchangeUnderTest;

beforeAll(async () => {
  await fx.start();
  exchange = await fx.spawnExchange();
}, 120_000);

afterAll(async () => {
  await fx.stop();
});

/** Audit records that arrived after `mark` (index into the watcher's records) and match. */
async function auditAfter(mark: number, predicate: (d: AuditData) => boolean): Promise<AuditData> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const found = fx.audit.records
      .slice(mark)
      .map((r) => JSON.parse(r.value ?? '{}') as AuditData)
      .find(predicate);
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error('no matching audit record on hie.audit within 15 s');
    await new Promise((r) => setTimeout(r, 100));
  }
}

function expectOutcome(result: CallResult, status: number): void {
  expect({ status: result.status, resourceType: result.json?.resourceType }).toEqual({
    status,
    resourceType: 'OperationOutcome',
  });
  expect(result.text).not.toMatch(/at .*\.(js|ts):\d+/); // no stack trace
}

interface Endpoint {
  readonly name: string;
  readonly method: 'GET' | 'POST' | 'PUT';
  path(): string;
  body?(): unknown;
  readonly clinical: boolean;
}

const sta = () => `${STA.system}|STA-s-${fx.run}`;
const ENDPOINTS: readonly Endpoint[] = [
  {
    name: 'PIXm',
    method: 'GET',
    clinical: true,
    path: () => `/fhir/Patient/$ihe-pix?sourceIdentifier=${encodeURIComponent(sta())}`,
  },
  { name: 'PDQm', method: 'GET', clinical: true, path: () => `/fhir/Patient?family=${FAMILY}` },
  {
    name: '$match',
    method: 'POST',
    clinical: true,
    path: () => '/fhir/Patient/$match',
    body: () => matchBody(),
  },
  ...(['DocumentReference', 'Encounter', 'DiagnosticReport', 'Observation'] as const).map((t) => ({
    name: `${t} search`,
    method: 'GET' as const,
    clinical: true,
    path: () => `/fhir/${t}?patient=${encodeURIComponent(sta())}`,
  })),
  {
    name: 'timeline',
    method: 'GET',
    clinical: true,
    path: () => `/fhir/Patient/${fx.region.shared}/$timeline`,
  },
  {
    name: '_history',
    method: 'GET',
    clinical: true,
    path: () => `/fhir/DocumentReference/${fx.region.docs['s.riv-doc'] ?? ''}/_history`,
  },
  {
    name: '$content',
    method: 'GET',
    clinical: true,
    path: () => `/fhir/DocumentReference/${fx.region.docs['s.riv-doc'] ?? ''}/$content`,
  },
  {
    name: 'Binary',
    method: 'GET',
    clinical: true,
    path: () => `/fhir/Binary/${sha(fx.region.contents['s.riv-doc'] ?? '')}`,
  },
  {
    name: 'Consent create',
    method: 'POST',
    clinical: false,
    path: () => '/fhir/Consent',
    body: () => consentBody(fx.region.other),
  },
  {
    name: 'Consent read',
    method: 'GET',
    clinical: false,
    path: () => `/fhir/Consent/${fx.region.linkedDirective}`,
  },
  {
    name: 'Consent update',
    method: 'PUT',
    clinical: false,
    path: () => `/fhir/Consent/${fx.region.linkedDirective}`,
    body: () => consentBody(fx.region.linked),
  },
  {
    name: 'Consent search',
    method: 'GET',
    clinical: false,
    path: () => `/fhir/Consent?patient=${fx.region.shared}`,
  },
  {
    name: 'AuditEvent',
    method: 'GET',
    clinical: false,
    path: () => `/fhir/AuditEvent?patient=${fx.region.shared}`,
  },
];

function sha(text: string): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('node:crypto') as typeof import('node:crypto'))
    .createHash('sha256')
    .update(text)
    .digest('hex');
}

function matchBody() {
  return {
    resourceType: 'Parameters',
    parameter: [{ name: 'resource', resource: { resourceType: 'Patient', name: [{ family: FAMILY }] } }],
  };
}

function consentBody(enterpriseId: string) {
  return {
    resourceType: 'Consent',
    status: 'active',
    scope: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }],
    },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: `Patient/${enterpriseId}` },
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTOUT' }] },
    provision: { type: 'deny' },
  };
}

type Situation =
  'no token' | 'expired token' | 'forged token' | 'wrong audience' | 'operator token' | 'wrong scope';
const REFUSALS: ReadonlyArray<{ situation: Situation; status: 401 | 403; reason: RegExp }> = [
  { situation: 'no token', status: 401, reason: /missing_token/ },
  { situation: 'expired token', status: 401, reason: /expired/ },
  { situation: 'forged token', status: 401, reason: /bad_signature|unknown_key/ },
  { situation: 'wrong audience', status: 401, reason: /wrong_audience/ },
  { situation: 'operator token', status: 401, reason: /wrong_audience/ },
  { situation: 'wrong scope', status: 403, reason: /scope/ },
];

async function tokenFor(situation: Situation, clientId: string): Promise<string | undefined> {
  const base = { kind: 'institution' as const, clientId, institutionId: STA.id, scopes: ALL_READ };
  switch (situation) {
    case 'no token':
      return undefined;
    case 'expired token':
      return fx.keys.mint(fx.issuer(), { ...base, expiresInSeconds: -120 });
    case 'forged token':
      return fx.keys.mintForged(fx.issuer(), base);
    case 'wrong audience':
      return fx.keys.mint(fx.issuer(), { ...base, audience: 'tessera:internal' });
    case 'operator token':
      return fx.keys.mint(fx.issuer(), { kind: 'operator', clientId, roles: ['audit.read', 'consent.read'] });
    case 'wrong scope':
      return fx.keys.mint(fx.issuer(), { ...base, scopes: ['system/Organization.read'] });
  }
}

describe('refused callers: every endpoint × token situation → 401/403 OperationOutcome + security-alert audit', () => {
  const rows = ENDPOINTS.flatMap((e) => REFUSALS.map((r) => [e.name, r.situation, r.status, e, r] as const));
  it.each(rows)('%s, %s → %i', async (_name, situation, status, endpoint, refusal) => {
    const clientId =
      `m-${situation.replace(/ /g, '-')}-${endpoint.name.replace(/[^A-Za-z]/g, '').toLowerCase()}-${fx.run}`.slice(
        0,
        60,
      );
    const token = await tokenFor(situation, clientId);
    const mark = fx.audit.records.length;
    const result = await call(exchange.url, endpoint.path(), {
      ...(token === undefined ? {} : { token }),
      method: endpoint.method,
      ...(endpoint.body === undefined ? {} : { body: endpoint.body() }),
    });
    expectOutcome(result, status);
    if (status === 401) expect(result.headers.get('www-authenticate')).toContain('Bearer');
    expect(result.text).not.toContain(`STA-s-${fx.run}`);
    const pathOnly = endpoint.path().split('?')[0] ?? '';
    const alert = await auditAfter(
      mark,
      (d) =>
        d.type === 'security-alert' &&
        (d.entities[0]?.reference ?? '') === pathOnly &&
        refusal.reason.test(d.outcomeDesc ?? ''),
    );
    expect(alert.outcomeDesc).toContain(String(status));
    if (situation !== 'no token' && situation !== 'forged token') expect(alert.agent.clientId).toBe(clientId);
  });
});

describe('institution callers: what each situation sees, and its audit record', () => {
  const token = (purposes?: { clientId?: string; institutionId?: string }) =>
    fx.token({
      clientId: purposes?.clientId ?? `sta-${fx.run}`,
      institutionId: purposes?.institutionId ?? STA.id,
    });

  async function search(
    path: string,
    options: {
      purpose?: string;
      reason?: string;
      clientId?: string;
      institutionId?: string;
      user?: string;
    } = {},
  ) {
    const mark = fx.audit.records.length;
    const result = await call(exchange.url, path, {
      token: await token(options),
      ...(options.purpose === undefined ? {} : { purpose: options.purpose }),
      ...(options.reason === undefined ? {} : { reason: options.reason }),
      ...(options.user === undefined ? {} : { headers: { 'x-tessera-on-behalf-of': options.user } }),
    });
    return { result, mark };
  }

  const doc = (key: string) => fx.region.docs[key] ?? '';
  const patientParam = (tag: 's' | 'o' | 'x') => encodeURIComponent(`${STA.system}|STA-${tag}-${fx.run}`);

  it('other institution with consent (region opt-out default): shared items, never sensitive ones; totals exact; audited', async () => {
    const { result, mark } = await search(`/fhir/DocumentReference?patient=${patientParam('s')}`, {
      user: 'dr-house-42',
    });
    expect(result.status).toBe(200);
    expect(idsOf(result.json)).toEqual([doc('s.riv-doc'), doc('s.sta-doc')].sort());
    expect(result.json.total).toBe(2);
    expect(result.json.link[0].url).toMatch(new RegExp(`^${exchange.url}/fhir/DocumentReference\\?`));
    expect(result.json.entry[0].fullUrl).toMatch(new RegExp(`^${exchange.url}/fhir/DocumentReference/`));
    expect(
      result.json.entry.map(
        (e: { resource: { content: { attachment: { url: string } }[] } }) =>
          e.resource.content[0]?.attachment.url,
      ),
    ).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^${exchange.url}/fhir/Binary/[0-9a-f]{64}$`)),
      ]),
    );
    const audit = await auditAfter(
      mark,
      (d) =>
        d.type === 'rest' &&
        d.patients.includes(fx.region.shared) &&
        d.entities[0]?.type === 'DocumentReference',
    );
    expect(audit).toMatchObject({
      outcome: '0',
      purposeOfUse: 'TREAT',
      breakGlass: false,
      agent: { clientId: `sta-${fx.run}`, institutionId: STA.id, user: 'dr-house-42' },
      observer: 'exchange',
      hiddenCount: 0,
    });
    expect(audit.entities[0]?.query).toContain('patient=');
  });

  it.each([
    ['Encounter', 's', ['s.riv-enc', 's.sta-enc']],
    ['Encounter', 'o', ['o.sta-enc']],
    ['Observation', 's', ['s.riv-obs']],
    ['Observation', 'o', []],
    ['DiagnosticReport', 's', ['s.riv-dr']],
    ['DiagnosticReport', 'o', []],
    ['DocumentReference', 'o', ['o.sta-doc']],
  ] as const)('%s search, person %s (o = opted out: own institution only) → %j', async (type, tag, keys) => {
    const { result, mark } = await search(`/fhir/${type}?patient=${patientParam(tag)}`);
    expect(result.status).toBe(200);
    expect(idsOf(result.json)).toEqual(keys.map(doc).sort());
    expect(result.json.total).toBe(keys.length);
    const eid = tag === 's' ? fx.region.shared : fx.region.optedOut;
    await auditAfter(
      mark,
      (d) => d.patients.includes(eid) && d.entities[0]?.type === type && d.outcome === '0',
    );
  });

  it('timeline: everything visible of the person, across the four types', async () => {
    const shared = await search(`/fhir/Patient/${fx.region.shared}/$timeline`);
    expect(shared.result.status).toBe(200);
    expect(idsOf(shared.result.json)).toEqual(
      ['s.sta-doc', 's.riv-doc', 's.riv-enc', 's.sta-enc', 's.riv-obs', 's.riv-dr'].map(doc).sort(),
    );
    const opted = await search(`/fhir/Patient/${fx.region.optedOut}/$timeline`);
    expect(idsOf(opted.result.json)).toEqual(['o.sta-doc', 'o.sta-enc'].map(doc).sort());
    expect(opted.result.json.total).toBe(2);
    await auditAfter(opted.mark, (d) => d.patients.includes(fx.region.optedOut) && d.subtype === 'operation');
  });

  it('timeline needs read scope on all four clinical types (403 + security alert)', async () => {
    const clientId = `tl-${fx.run}`;
    const t = await fx.keys.mint(fx.issuer(), {
      kind: 'institution',
      clientId,
      institutionId: STA.id,
      scopes: ['system/DocumentReference.read'],
    });
    const mark = fx.audit.records.length;
    const result = await call(exchange.url, `/fhir/Patient/${fx.region.shared}/$timeline`, { token: t });
    expectOutcome(result, 403);
    await auditAfter(mark, (d) => d.type === 'security-alert' && d.agent.clientId === clientId);
  });

  it('_history, $content and Binary: visible → 200 with the bytes; sensitive or opted out → 404 (indistinguishable from missing); audited', async () => {
    const history = await search(`/fhir/DocumentReference/${doc('s.riv-doc')}/_history`);
    expect(history.result.status).toBe(200);
    expect(history.result.json.type).toBe('history');
    await auditAfter(
      history.mark,
      (d) => d.subtype === 'history-instance' && d.outcome === '0' && d.patients.includes(fx.region.shared),
    );

    const content = await search(`/fhir/DocumentReference/${doc('s.riv-doc')}/$content`);
    expect(content.result.status).toBe(200);
    expect(content.result.text).toBe(fx.region.contents['s.riv-doc']);
    expect(content.result.headers.get('etag')).toBe(`"${sha(fx.region.contents['s.riv-doc'] ?? '')}"`);
    expect(content.result.headers.get('x-internal')).toBeNull();
    await auditAfter(
      content.mark,
      (d) =>
        d.subtype === 'read' &&
        d.outcome === '0' &&
        d.entities[0]?.reference === `DocumentReference/${doc('s.riv-doc')}`,
    );

    const binary = await search(`/fhir/Binary/${sha(fx.region.contents['s.riv-doc'] ?? '')}`);
    expect(binary.result.status).toBe(200);
    expect(binary.result.text).toBe(fx.region.contents['s.riv-doc']);

    for (const hidden of ['s.riv-psy', 's.riv-eth', 'o.riv-doc']) {
      const h = await search(`/fhir/DocumentReference/${doc(hidden)}/_history`);
      expectOutcome(h.result, 404);
      const c = await search(`/fhir/DocumentReference/${doc(hidden)}/$content`);
      expectOutcome(c.result, 404);
      const b = await search(`/fhir/Binary/${sha(fx.region.contents[hidden] ?? '')}`);
      expectOutcome(b.result, 404);
      await auditAfter(b.mark, (d) => d.subtype === 'read' && d.outcome === '4');
    }
    const own = await search(`/fhir/DocumentReference/${doc('o.sta-doc')}/$content`);
    expect(own.result.status).toBe(200);
  });

  it('PIXm: discoverable → all identifiers; opted out and not held by the caller → 404; unknown → 404', async () => {
    const { result, mark } = await search(`/fhir/Patient/$ihe-pix?sourceIdentifier=${patientParam('s')}`);
    expect(result.status).toBe(200);
    const ids = (result.json.parameter as { valueIdentifier: { system: string; value: string } }[]).map(
      (p) => p.valueIdentifier,
    );
    expect(ids).toEqual(
      expect.arrayContaining([
        { system: RIV.system, value: `RIV-s-${fx.run}` },
        { system: 'urn:tessera:enterprise-id', value: fx.region.shared },
      ]),
    );
    await auditAfter(
      mark,
      (d) => d.patients.includes(fx.region.shared) && d.entities[0]?.query === '$ihe-pix',
    );

    const hidden = await search(
      `/fhir/Patient/$ihe-pix?sourceIdentifier=${encodeURIComponent(`${RIV.system}|RIV-r-${fx.run}`)}`,
    );
    expectOutcome(hidden.result, 404);
    const unknown = await search(
      `/fhir/Patient/$ihe-pix?sourceIdentifier=${encodeURIComponent(`${STA.system}|nobody-${fx.run}`)}`,
    );
    expectOutcome(unknown.result, 404);
    await auditAfter(unknown.mark, (d) => d.entities[0]?.query === '$ihe-pix' && d.outcome === '4');
    // The holding institution finds its own opted-out patient.
    const riv = await search(
      `/fhir/Patient/$ihe-pix?sourceIdentifier=${encodeURIComponent(`${RIV.system}|RIV-r-${fx.run}`)}`,
      { clientId: `riv-${fx.run}`, institutionId: RIV.id },
    );
    expect(riv.result.status).toBe(200);
  });

  it('PDQm and $match: persons not discoverable for the caller are not counted in total nor paged', async () => {
    const all = await search(`/fhir/Patient?family=${FAMILY}`);
    expect(all.result.status).toBe(200);
    const visible = [fx.region.shared, fx.region.optedOut, fx.region.other].sort();
    expect(idsOf(all.result.json)).toEqual(visible);
    expect(all.result.json.total).toBe(3);
    const audit = await auditAfter(
      all.mark,
      (d) => d.entities[0]?.type === 'Patient' && d.subtype === 'search-type' && d.hiddenCount === 1,
    );
    expect(audit.patients.sort()).toEqual(visible);

    const page = await search(`/fhir/Patient?family=${FAMILY}&_count=2&_offset=2`);
    expect(page.result.json.total).toBe(3);
    expect(page.result.json.entry).toHaveLength(1);
    expect(page.result.json.link.find((l: { relation: string }) => l.relation === 'next')).toBeUndefined();
    const first = await search(`/fhir/Patient?family=${FAMILY}&_count=2`);
    expect(first.result.json.link.find((l: { relation: string }) => l.relation === 'next').url).toBe(
      `${exchange.url}/fhir/Patient?family=${FAMILY}&_count=2&_offset=2`,
    );

    const mark = fx.audit.records.length;
    const match = await call(exchange.url, '/fhir/Patient/$match', {
      token: await token(),
      method: 'POST',
      body: matchBody(),
    });
    expect(match.status).toBe(200);
    expect(idsOf(match.json)).toEqual(visible);
    expect(match.json.total).toBe(3);
    await auditAfter(mark, (d) => d.entities[0]?.query === '$match' && d.hiddenCount === 1);

    // The institution holding the opted-out person finds them.
    const riv = await search(`/fhir/Patient?family=${FAMILY}`, {
      clientId: `riv-${fx.run}`,
      institutionId: RIV.id,
    });
    expect(riv.result.json.total).toBe(4);
  });

  it('break-the-glass: ETREAT + reason lifts the opt-out and non-absolute labels (never ETH), records the grant and review first, audited as break-glass', async () => {
    const before = fx.world.callsTo('consent', '/internal/break-glass').length;
    const { result, mark } = await search(`/fhir/DocumentReference?patient=${patientParam('o')}`, {
      purpose: 'ETREAT',
      reason: 'unconscious patient in ED',
    });
    expect(result.status).toBe(200);
    expect(idsOf(result.json)).toEqual(['o.sta-doc', 'o.riv-doc', 'o.riv-psy'].map(doc).sort());
    expect(result.json.total).toBe(3);
    const grants = fx.world.callsTo('consent', '/internal/break-glass');
    expect(grants.length).toBe(before + 1);
    expect(grants.at(-1)?.body).toMatchObject({
      enterpriseId: fx.region.optedOut,
      institutionId: STA.id,
      clientId: `sta-${fx.run}`,
      reason: 'unconscious patient in ED',
    });
    const audit = await auditAfter(
      mark,
      (d) => d.type === 'break-glass' && d.patients.includes(fx.region.optedOut),
    );
    expect(audit).toMatchObject({ breakGlass: true, purposeOfUse: 'ETREAT', outcome: '0' });

    // The active grant serves the next ETREAT call without a new review.
    const again = await search(`/fhir/DocumentReference?patient=${patientParam('o')}`, { purpose: 'ETREAT' });
    expect(again.result.json.total).toBe(3);
    expect(fx.world.callsTo('consent', '/internal/break-glass').length).toBe(before + 1);
    // TREAT still sees only its own.
    const treat = await search(`/fhir/DocumentReference?patient=${patientParam('o')}`);
    expect(treat.result.json.total).toBe(1);
  });

  it('break-the-glass fails closed: grant not recordable → 503, nothing returned, failure audited', async () => {
    await fx.world.optOut(fx.region.riverOnly, RIV.id); // new version; the cached policy is stale
    fx.world.failing['break-glass'] = true;
    try {
      const riverDoc = `${RIV.system}|RIV-r-${fx.run}`;
      const { result, mark } = await search(
        `/fhir/DocumentReference?patient=${encodeURIComponent(riverDoc)}`,
        { purpose: 'ETREAT', reason: 'cardiac arrest, no history' },
      );
      expectOutcome(result, 503);
      expect(result.text).not.toContain('river only');
      await auditAfter(
        mark,
        (d) =>
          d.outcome === '8' &&
          d.entities[0]?.type === 'DocumentReference' &&
          d.agent.clientId === `sta-${fx.run}`,
      );
    } finally {
      fx.world.failing['break-glass'] = false;
    }
  });

  it('purpose of use: missing → 400, unknown → 400, not registered for the client → 403, each with a security alert', async () => {
    const t = await token();
    const start = fx.audit.records.length;
    expectOutcome(
      await call(exchange.url, `/fhir/DocumentReference?patient=${patientParam('s')}`, {
        token: t,
        purpose: null,
      }),
      400,
    );
    expectOutcome(
      await call(exchange.url, `/fhir/DocumentReference?patient=${patientParam('s')}`, {
        token: t,
        purpose: 'FUN',
      }),
      400,
    );
    await auditAfter(
      start,
      (d) => d.type === 'security-alert' && (d.outcomeDesc ?? '').startsWith('400 purpose_invalid'),
    );
    const riv = await fx.token({ clientId: `riv-${fx.run}`, institutionId: RIV.id });
    const mark = fx.audit.records.length;
    const refused = await call(exchange.url, `/fhir/DocumentReference?patient=${patientParam('s')}`, {
      token: riv,
      purpose: 'ETREAT',
      reason: 'emergency room',
    });
    expectOutcome(refused, 403);
    await auditAfter(
      mark,
      (d) =>
        d.type === 'security-alert' &&
        d.agent.clientId === `riv-${fx.run}` &&
        /purpose/.test(d.outcomeDesc ?? ''),
    );
  });

  it('defence in depth: a registry that ignores the visibility still leaks nothing (re-check drops, total corrected, hiddenCount audited)', async () => {
    fx.world.leakyRegistry = true;
    try {
      const { result, mark } = await search(`/fhir/DocumentReference?patient=${patientParam('o')}`);
      expect(result.status).toBe(200);
      expect(idsOf(result.json)).toEqual([doc('o.sta-doc')]);
      expect(result.json.total).toBe(1);
      const audit = await auditAfter(
        mark,
        (d) => d.patients.includes(fx.region.optedOut) && (d.hiddenCount ?? 0) > 0,
      );
      expect(audit.hiddenCount).toBe(3);
    } finally {
      fx.world.leakyRegistry = false;
    }
  });

  it('registry 409 (identity moved during the request) → resolved again once and answered', async () => {
    fx.world.conflicts = 1;
    const { result } = await search(`/fhir/DocumentReference?patient=${patientParam('s')}`);
    expect(result.status).toBe(200);
    expect(result.json.total).toBe(2);
  });

  it('consent: the holding institution records an opt-out (201, Location on the exchange, audited); the next query of another institution hides the data', async () => {
    const riv = await fx.token({ clientId: `riv-${fx.run}`, institutionId: RIV.id });
    const visibleBefore = await call(exchange.url, `/fhir/DocumentReference?patient=${patientParam('x')}`, {
      token: riv,
    });
    // riverside's own three (its own labelled items included) + st-aurelia's shared document
    expect(idsOf(visibleBefore.json)).toEqual(
      ['x.riv-doc', 'x.riv-psy', 'x.riv-eth', 'x.sta-doc'].map(doc).sort(),
    );
    const mark = fx.audit.records.length;
    const created = await call(exchange.url, '/fhir/Consent', {
      token: await token(),
      method: 'POST',
      body: consentBody(fx.region.other),
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toMatch(new RegExp(`^${exchange.url}/fhir/Consent/`));
    expect(fx.world.callsTo('consent', '/Consent').at(-1)?.headers['x-tessera-requesting-institution']).toBe(
      STA.id,
    );
    await auditAfter(
      mark,
      (d) =>
        d.subtype === 'create' && d.patients.includes(fx.region.other) && d.entities[0]?.type === 'Consent',
    );
    const after = await call(exchange.url, `/fhir/DocumentReference?patient=${patientParam('x')}`, {
      token: riv,
    });
    expect(idsOf(after.json)).toEqual(['x.riv-doc', 'x.riv-psy', 'x.riv-eth'].map(doc).sort());
    expect(after.json.total).toBe(3);

    const search = await call(exchange.url, `/fhir/Consent?patient=${fx.region.other}`, {
      token: await token(),
    });
    expect(search.status).toBe(200);
  });

  it('who accessed my record: allowed for an institution holding the patient, 403 otherwise', async () => {
    const mark = fx.audit.records.length;
    const ok = await call(exchange.url, `/fhir/AuditEvent?patient=${fx.region.shared}`, {
      token: await token(),
    });
    expect(ok.status).toBe(200);
    expect(ok.json.resourceType).toBe('Bundle');
    await auditAfter(mark, (d) => d.entities[0]?.type === 'AuditEvent' && d.outcome === '0');
    const refused = await call(exchange.url, `/fhir/AuditEvent?patient=${fx.region.riverOnly}`, {
      token: await token(),
    });
    expectOutcome(refused, 403);
  });

  it('a holder of a person whose data is not shared with it (its record linked after an opt-out) learns only its own identifiers: PIXm, PDQm, $match', async () => {
    const riv = { clientId: `riv-${fx.run}`, institutionId: RIV.id };
    const eid = { system: 'urn:tessera:enterprise-id', value: fx.region.linked };
    const pix = await search(
      `/fhir/Patient/$ihe-pix?sourceIdentifier=${encodeURIComponent(`${RIV.system}|RIV-l-${fx.run}`)}`,
      riv,
    );
    expect(pix.result.status).toBe(200);
    expect(pix.result.json.parameter.map((p: { valueIdentifier: unknown }) => p.valueIdentifier)).toEqual([
      eid,
    ]);
    expect(pix.result.text).not.toContain(`STA-l-${fx.run}`);
    const pixAudit = await auditAfter(
      pix.mark,
      (d) => d.patients.includes(fx.region.linked) && d.entities[0]?.query === '$ihe-pix',
    );
    expect(pixAudit).toMatchObject({ outcome: '0', hiddenCount: 1 });
    // Looked up by the other institution's identifier: that link is the other institution's data.
    const byOther = await search(
      `/fhir/Patient/$ihe-pix?sourceIdentifier=${encodeURIComponent(`${STA.system}|STA-l-${fx.run}`)}`,
      riv,
    );
    expectOutcome(byOther.result, 404);

    const subsetted = {
      resourceType: 'Patient',
      id: fx.region.linked,
      meta: {
        tag: [
          {
            system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue',
            code: 'SUBSETTED',
            display: 'subsetted',
          },
        ],
      },
      identifier: [eid, { system: RIV.system, value: `RIV-l-${fx.run}` }],
    };
    const pdq = await search(`/fhir/Patient?family=${LINKED_FAMILY}`, riv);
    expect(pdq.result.status).toBe(200);
    expect(pdq.result.json.total).toBe(1);
    expect(pdq.result.json.entry[0].resource).toEqual(subsetted);
    expect(pdq.result.text).not.toContain(`STA-l-${fx.run}`);
    expect(JSON.stringify(pdq.result.json.entry)).not.toContain(LINKED_FAMILY); // no demographics of another source
    const mark = fx.audit.records.length;
    const match = await call(exchange.url, '/fhir/Patient/$match', {
      token: await token(riv),
      method: 'POST',
      body: {
        resourceType: 'Parameters',
        parameter: [
          { name: 'resource', resource: { resourceType: 'Patient', name: [{ family: LINKED_FAMILY }] } },
        ],
      },
    });
    expect(match.status).toBe(200);
    expect(match.json.entry.map((e: { resource: unknown }) => e.resource)).toEqual([subsetted]);
    await auditAfter(mark, (d) => d.entities[0]?.query === '$match' && d.patients.includes(fx.region.linked));
    // Its clinical searches show only its own items.
    const docs = await search(
      `/fhir/DocumentReference?patient=${encodeURIComponent(`${RIV.system}|RIV-l-${fx.run}`)}`,
      riv,
    );
    expect(idsOf(docs.result.json)).toEqual([doc('l.riv-doc')]);
    // The institution that recorded the opt-out is restricted the same way (nothing of riverside).
    const staPix = await search(
      `/fhir/Patient/$ihe-pix?sourceIdentifier=${encodeURIComponent(`${STA.system}|STA-l-${fx.run}`)}`,
    );
    expect(staPix.result.json.parameter.map((p: { valueIdentifier: unknown }) => p.valueIdentifier)).toEqual([
      eid,
    ]);
  });

  it("a holder of a person restricted for it cannot learn another institution's identifier through PDQm or $match: searched by it, the person is left out and total is 0", async () => {
    const riv = { clientId: `riv-${fx.run}`, institutionId: RIV.id };
    const pdq = (identifier: string) =>
      search(`/fhir/Patient?identifier=${encodeURIComponent(identifier)}`, riv);
    const staIdentifier = `${STA.system}|STA-l-${fx.run}`;
    for (const identifier of [staIdentifier, `STA-l-${fx.run}`, `|STA-l-${fx.run}`]) {
      const guessed = await pdq(identifier);
      expect(guessed.result.status).toBe(200);
      expect(guessed.result.json).toMatchObject({ resourceType: 'Bundle', total: 0 });
      expect(guessed.result.json.entry ?? []).toEqual([]);
      expect(guessed.result.text).not.toContain(fx.region.linked);
      const audit = await auditAfter(
        guessed.mark,
        (d) =>
          d.entities[0]?.type === 'Patient' &&
          d.entities[0]?.query === new URLSearchParams({ identifier }).toString(),
      );
      expect(audit).toMatchObject({ outcome: '0', patients: [], hiddenCount: 1 });
    }
    // one foreign identifier among several (FHIR OR) is enough to drop the restricted person
    const mixed = await pdq(`${RIV.system}|RIV-l-${fx.run},${staIdentifier}`);
    expect(mixed.result.json.total).toBe(0);
    // by its own identifier or the enterprise id the holder still finds its reduced record
    for (const identifier of [
      `${RIV.system}|RIV-l-${fx.run}`,
      `urn:tessera:enterprise-id|${fx.region.linked}`,
    ]) {
      const own = await pdq(identifier);
      expect(own.result.json.total).toBe(1);
      expect(own.result.json.entry[0].resource.id).toBe(fx.region.linked);
      expect(own.result.text).not.toContain(`STA-l-${fx.run}`);
    }
    // a person whose data is shared with the caller is still found by another institution's identifier
    const shared = await search(
      `/fhir/Patient?identifier=${encodeURIComponent(`${RIV.system}|RIV-s-${fx.run}`)}`,
    );
    expect(shared.result.json.total).toBe(1);
    expect(shared.result.json.entry[0].resource.id).toBe(fx.region.shared);

    const match = async (identifier: { system?: string; value: string }) =>
      call(exchange.url, '/fhir/Patient/$match', {
        token: await token(riv),
        method: 'POST',
        body: {
          resourceType: 'Parameters',
          parameter: [{ name: 'resource', resource: { resourceType: 'Patient', identifier: [identifier] } }],
        },
      });
    const guessedMatch = await match({ system: STA.system, value: `STA-l-${fx.run}` });
    expect(guessedMatch.status).toBe(200);
    expect(guessedMatch.json).toMatchObject({ resourceType: 'Bundle', total: 0 });
    expect(guessedMatch.text).not.toContain(fx.region.linked);
    expect((await match({ value: `STA-l-${fx.run}` })).json.total).toBe(0);
    const ownMatch = await match({ system: RIV.system, value: `RIV-l-${fx.run}` });
    expect(ownMatch.json.total).toBe(1);
    expect(ownMatch.json.entry[0].resource.id).toBe(fx.region.linked);
  });

  it("consent directives belong to the institution that recorded them: another institution's read or change → 403 forbidden + security alert; searches show only own directives and an outcome entry", async () => {
    const riv = await fx.token({ clientId: `riv-${fx.run}`, institutionId: RIV.id });
    const sta = await token();
    const id = fx.region.linkedDirective;

    const markRead = fx.audit.records.length;
    const read = await call(exchange.url, `/fhir/Consent/${id}`, { token: riv, purpose: null });
    expectOutcome(read, 403);
    expect(read.json.issue[0].code).toBe('forbidden');
    const readAlert = await auditAfter(
      markRead,
      (d) =>
        d.type === 'security-alert' &&
        d.agent.clientId === `riv-${fx.run}` &&
        d.entities[0]?.reference === `Consent/${id}`,
    );
    expect(readAlert).toMatchObject({ outcome: '4', outcomeDesc: '403 forbidden', subtype: 'read' });

    const markPut = fx.audit.records.length;
    const put = await call(exchange.url, `/fhir/Consent/${id}`, {
      token: riv,
      purpose: null,
      method: 'PUT',
      body: { ...consentBody(fx.region.linked), id, status: 'inactive' },
    });
    expectOutcome(put, 403);
    expect(put.json.issue[0].code).toBe('forbidden');
    await auditAfter(
      markPut,
      (d) =>
        d.type === 'security-alert' &&
        d.subtype === 'update' &&
        d.agent.clientId === `riv-${fx.run}` &&
        d.patients.includes(fx.region.linked),
    );
    expect(fx.world.policies.get(fx.region.linked)?.directives.map((d) => d.id)).toEqual([id]);

    // The recording institution reads its own directive.
    const own = await call(exchange.url, `/fhir/Consent/${id}`, { token: sta, purpose: null });
    expect(own.status).toBe(200);
    expect(own.json).toMatchObject({ resourceType: 'Consent', id });

    // Searches: own directives, and an outcome entry when other institutions' directives restrict sharing.
    const rivSearch = await call(exchange.url, `/fhir/Consent?patient=${fx.region.linked}`, {
      token: riv,
      purpose: null,
    });
    expect(rivSearch.status).toBe(200);
    const rivEntries = rivSearch.json.entry as {
      resource: { resourceType: string; issue?: { code: string }[] };
      search: { mode: string };
    }[];
    expect(rivEntries.filter((e) => e.resource.resourceType === 'Consent')).toEqual([]);
    expect(
      rivEntries.filter((e) => e.search.mode === 'outcome').map((e) => e.resource.issue?.[0]?.code),
    ).toEqual(['informational']);
    expect(rivSearch.text).not.toContain(id);
    const staSearch = await call(exchange.url, `/fhir/Consent?patient=${fx.region.linked}`, {
      token: sta,
      purpose: null,
    });
    expect(staSearch.json.entry.map((e: { resource: { id?: string } }) => e.resource.id)).toEqual([id]);
  });

  it('who accessed my record: an institution sees only the accesses to items it contributed; exchange audit records name each item’s source institution', async () => {
    fx.world.auditTrail = () => fx.audit.records.map(auditData);
    // St Aurelia reads the shared person's documents (one of its own, one of riverside's) and runs a PIXm.
    const docs = await search(`/fhir/DocumentReference?patient=${patientParam('s')}`);
    expect(idsOf(docs.result.json)).toEqual([doc('s.riv-doc'), doc('s.sta-doc')].sort());
    const record = await auditAfter(
      docs.mark,
      (d) =>
        d.agent.clientId === `sta-${fx.run}` &&
        d.entities.some((e) => e.reference === `DocumentReference/${doc('s.riv-doc')}`),
    );
    expect(
      record.entities.slice(1).sort((a, b) => (a.reference ?? '').localeCompare(b.reference ?? '')),
    ).toEqual(
      [
        {
          type: 'DocumentReference',
          reference: `DocumentReference/${doc('s.riv-doc')}`,
          sourceInstitution: RIV.id,
        },
        {
          type: 'DocumentReference',
          reference: `DocumentReference/${doc('s.sta-doc')}`,
          sourceInstitution: STA.id,
        },
      ].sort((a, b) => a.reference.localeCompare(b.reference)),
    );
    const content = await search(`/fhir/DocumentReference/${doc('s.riv-doc')}/$content`);
    expect(content.result.status).toBe(200);
    await auditAfter(
      content.mark,
      (d) =>
        d.subtype === 'read' &&
        d.entities[0]?.reference === `DocumentReference/${doc('s.riv-doc')}` &&
        d.entities[0]?.sourceInstitution === RIV.id,
    );
    const pix = await search(`/fhir/Patient/$ihe-pix?sourceIdentifier=${patientParam('s')}`);
    await auditAfter(
      pix.mark,
      (d) => d.entities[0]?.query === '$ihe-pix' && d.patients.includes(fx.region.shared),
    );

    const riv = await fx.token({ clientId: `riv-${fx.run}`, institutionId: RIV.id });
    const trail = await call(exchange.url, `/fhir/AuditEvent?patient=${fx.region.shared}&_count=500`, {
      token: riv,
      purpose: null,
    });
    expect(trail.status).toBe(200);
    expect(
      fx.world.callsTo('consent', '/AuditEvent').at(-1)?.headers['x-tessera-requesting-institution'],
    ).toBe(RIV.id);
    const references = (
      trail.json.entry as { resource: { entity: { what?: { reference?: string } }[] } }[]
    ).map((e) =>
      e.resource.entity.map((x) => x.what?.reference ?? '').filter((r) => !r.startsWith('Patient/')),
    );
    expect(references.length).toBeGreaterThanOrEqual(2);
    for (const refs of references) expect(refs.length).toBeGreaterThan(0); // never a query without its items
    expect(references.flat()).toContain(`DocumentReference/${doc('s.riv-doc')}`);
    expect(trail.text).not.toContain(doc('s.sta-doc'));
  });

  it('rate limit per client (registration: 3/s): 429 + Retry-After + throttled OperationOutcome, audited', async () => {
    const t = await fx.token({ clientId: `rl-${fx.run}`, institutionId: RIV.id });
    const mark = fx.audit.records.length;
    // Bursts of 10 concurrent calls against a limit of 3/s: a busy machine may spread one burst
    // over two one-second windows, so burst again (bounded) until a call is throttled.
    let throttled: CallResult[] = [];
    for (let burst = 0; burst < 10 && throttled.length === 0; burst += 1) {
      const results = await Promise.all(
        Array.from({ length: 10 }, () =>
          call(exchange.url, `/fhir/Consent?patient=${fx.region.shared}`, { token: t, purpose: null }),
        ),
      );
      throttled = results.filter((r) => r.status === 429);
    }
    expect(throttled.length).toBeGreaterThan(0);
    expect(throttled[0]?.headers.get('retry-after')).toBe('1');
    expect(throttled[0]?.json.issue[0].code).toBe('throttled');
    await auditAfter(
      mark,
      (d) =>
        d.type === 'security-alert' && d.agent.clientId === `rl-${fx.run}` && /429/.test(d.outcomeDesc ?? ''),
    );
  });
});

describe('token endpoint: issuance and refusals are audited as login', () => {
  async function tokenRequest(assertion: string): Promise<CallResult> {
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
      scope: 'system/DocumentReference.read',
    });
    return call(exchange.url, '/auth/token', {
      method: 'POST',
      rawBody: form.toString(),
      purpose: null,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
  }

  it('a valid client assertion → token that works on the FHIR API; login record outcome 0', async () => {
    const clientId = `tok-${fx.run}`;
    const now = Math.floor(Date.now() / 1000);
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: clientId, typ: 'JWT' })
      .setIssuer(clientId)
      .setSubject(clientId)
      .setAudience(`${exchange.url}/auth/token`)
      .setIssuedAt(now)
      .setExpirationTime(now + 120)
      .setJti(randomUUID())
      .sign(fx.tokenClientKey);
    const mark = fx.audit.records.length;
    const issued = await tokenRequest(assertion);
    expect(issued.status).toBe(200);
    const login = await auditAfter(mark, (d) => d.type === 'login' && d.agent.clientId === clientId);
    expect(login.outcome).toBe('0');
    const search = await call(exchange.url, `/fhir/DocumentReference?patient=${encodeURIComponent(sta())}`, {
      token: issued.json.access_token as string,
    });
    expect(search.status).toBe(200);
    expect(search.json.total).toBe(2);
  });

  it('a forged assertion → 401 invalid_client; login record outcome 4', async () => {
    const mark = fx.audit.records.length;
    const refused = await tokenRequest('eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJ4In0.AAAA');
    expect(refused.status).toBe(401);
    expect(refused.json.error).toBe('invalid_client');
    await auditAfter(mark, (d) => d.type === 'login' && d.outcome === '4');
  });
});

describe('public documents', () => {
  it('CapabilityStatement lists the resources, interactions, search parameters and SMART token URL', async () => {
    const result = await call(exchange.url, '/fhir/metadata', { purpose: null });
    expect(result.status).toBe(200);
    const cs = result.json;
    expect(cs).toMatchObject({ resourceType: 'CapabilityStatement', kind: 'instance', fhirVersion: '4.0.1' });
    const rest = cs.rest[0];
    expect(rest.security.service[0].coding[0].code).toBe('SMART-on-FHIR');
    expect(rest.security.extension[0].extension[0]).toEqual({
      url: 'token',
      valueUri: `${exchange.url}/auth/token`,
    });
    const types = rest.resource.map((r: { type: string }) => r.type).sort();
    expect(types).toEqual([
      'AuditEvent',
      'Binary',
      'Consent',
      'DiagnosticReport',
      'DocumentReference',
      'Encounter',
      'Group',
      'Observation',
      'Patient',
      'Subscription',
    ]);
    // The topics of topic-based subscriptions, as the Backport IG advertises them in R4.
    const subscription = rest.resource.find((r: { type: string }) => r.type === 'Subscription');
    expect(subscription.extension.map((e: { valueCanonical: string }) => e.valueCanonical)).toContain(
      'urn:tessera:subscription-topic:admission',
    );
    const docRef = rest.resource.find((r: { type: string }) => r.type === 'DocumentReference');
    expect(docRef.searchParam.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(['patient', 'date', 'type', 'status', '_count']),
    );
  });

  it('OpenAPI 3.1 and /docs list every route', async () => {
    const openapi = await call(exchange.url, '/openapi.json', { purpose: null });
    expect(openapi.json.openapi).toBe('3.1.0');
    expect(Object.keys(openapi.json.paths)).toEqual(
      expect.arrayContaining([
        '/fhir/DocumentReference',
        '/fhir/Patient/$ihe-pix',
        '/fhir/Binary/{sha256}',
        '/auth/token',
      ]),
    );
    const docs = await fetch(`${exchange.url}/docs`);
    expect(docs.headers.get('content-type')).toContain('text/html');
    const html = await docs.text();
    expect(html).toContain('/fhir/Patient/{id}/$timeline');
    expect(html).not.toMatch(/<script|https?:\/\/cdn/);
  });
});
