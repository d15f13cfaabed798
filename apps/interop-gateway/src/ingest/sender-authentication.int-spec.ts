// How feeds prove who sends them, in-process against real Postgres, Redis and Kafka: an institution
// port with an allow-list (connections from 127.0.0.2 vs 127.0.0.3), a sender claiming another
// institution's MSH-4, the loopback shared port, and how the sender's authentication travels to the
// ledger, hie.inbound.hl7v2, every canonical event and a replay; FHIR and batch uploads; and that a
// message refused for its sender never stands in for the real institution's (duplicates).
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import type { Kafka } from 'kafkajs';
import { deadLetterTopic, retryTopic, Topics } from '@tessera/contracts';
import { encodeMllpFrame, MllpFrameDecoder } from '@tessera/hl7v2';
import { loadPlatformSettings, migrateService } from '@tessera/platform-service';
import {
  dropTestDatabase,
  freePort,
  msaOf,
  startTestIssuer,
  testKafka,
  TopicWatcher,
  uniqueTestId,
  waitFor,
  withAdmin,
} from '@tessera/testing';
import type { CollectedRecord, TestIssuer } from '@tessera/testing';

const RUN = uniqueTestId('sa');
const DATABASE = `tessera_gateway_test_${RUN}`;
const GROUP = `interop-gateway.mapper.test-${RUN}`;
const GOLDEN = path.resolve(__dirname, '../../../../libs/v2-fhir/test-data');

interface Feed {
  readonly institutionId: string;
  readonly facility: string;
  readonly system: string;
}

let app: INestApplication;
let issuer: TestIssuer;
let opsToken: string;
let baseUrl: string;
let sharedPort: number;
let dataSource: DataSource;
let kafka: Kafka;
const watchers = new Map<string, TopicWatcher>();

function watcher(topic: string): TopicWatcher {
  const found = watchers.get(topic);
  if (found === undefined) throw new Error(`no watcher on ${topic}`);
  return found;
}

function parsed(record: CollectedRecord): Record<string, unknown> {
  return JSON.parse(record.value ?? 'null') as Record<string, unknown>;
}

/** A synthetic ADT^A01 of `facility` (the golden A01 re-addressed) with a unique MSH-10 and MRN. */
function adtA01(facility: string, controlId: string, mrn: string): string {
  return readFileSync(path.join(GOLDEN, 'ADT_A01.hl7'), 'utf8')
    .replace(/\r?\n/g, '\r')
    .replace(/\r+$/, '')
    .replaceAll('HOSPA', facility)
    .replace('MSG-A01-0001', controlId)
    .replace('MRN-100231', mrn);
}

/**
 * One MLLP exchange from `localAddress` (127.0.0.0/8 is all loopback, so tests pick their source
 * address). Resolves with the ACK, or rejects when the gateway closes the connection without one.
 */
function exchangeFrom(
  localAddress: string | undefined,
  port: number,
  message: string | Buffer,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({
      host: '127.0.0.1',
      port,
      ...(localAddress === undefined ? {} : { localAddress }),
    });
    const decoder = new MllpFrameDecoder({ maxFrameBytes: 1 << 20 });
    let settled = false;
    const finish = (error: Error | undefined, ack?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error === undefined) resolve(ack ?? '');
      else reject(error);
    };
    const timer = setTimeout(() => finish(new Error('no ACK within 20 s')), 20_000);
    socket.on('connect', () =>
      socket.write(encodeMllpFrame(typeof message === 'string' ? Buffer.from(message, 'utf8') : message)),
    );
    socket.on('data', (chunk: Buffer) => {
      for (const event of decoder.push(chunk))
        if (event.kind === 'frame') finish(undefined, event.payload.toString('utf8'));
    });
    socket.on('error', (error) => finish(error));
    socket.on('close', () => finish(new Error('connection closed without an ACK')));
  });
}

async function http(
  method: string,
  url: string,
  init: { body?: unknown; headers?: Record<string, string>; token?: string } = {},
) {
  const response = await fetch(`${baseUrl}${url}`, {
    method,
    headers: {
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      authorization: `Bearer ${init.token ?? opsToken}`,
      ...init.headers,
    },
    ...(init.body === undefined
      ? {}
      : { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, text, json: (json ?? {}) as Record<string, unknown> };
}

async function ledgerRowsOf(controlId: string): Promise<Array<Record<string, unknown>>> {
  return dataSource.query<Array<Record<string, unknown>>>(
    `SELECT id, institution_id, state, ack_code, resend_count FROM ledger_messages WHERE control_id = $1
     ORDER BY received_at`,
    [controlId],
  );
}

async function ledgerRowOf(controlId: string): Promise<Record<string, unknown> | undefined> {
  const rows = await dataSource.query<Array<Record<string, unknown>>>(
    `SELECT id, institution_id, state, state_detail, ack_code, sender_authentication, sender_identity
     FROM ledger_messages WHERE control_id = $1`,
    [controlId],
  );
  return rows[0];
}

/** Registers an institution through the admin API; `feed` adds to its feed settings. */
async function newFeed(feed: Record<string, unknown> = {}): Promise<Feed> {
  const tag = uniqueTestId('f');
  const created = {
    institutionId: `sa-${tag}`,
    facility: tag.toUpperCase(),
    system: `urn:oid:2.16.840.1.113883.3.7778.${Date.now()}${Math.floor(Math.random() * 1000)}`,
  };
  const response = await http('POST', '/admin/institutions', {
    body: {
      id: created.institutionId,
      name: 'Synthetic hospital (sender authentication)',
      sendingFacilities: [created.facility],
      assigningAuthorities: [{ namespace: created.facility, system: created.system, default: true }],
      feed: { ackMode: 'original', defaultCharset: 'UNICODE UTF-8', ...feed },
    },
  });
  expect(response.status).toBe(201);
  return created;
}

/** Waits until `port` takes connections from `localAddress` (the listener follows the registry). */
async function portOpen(port: number, localAddress: string): Promise<void> {
  await waitFor(
    `port ${port} to open for ${localAddress}`,
    () =>
      new Promise<boolean>((resolve) => {
        const probe = net.connect({ host: '127.0.0.1', port, localAddress });
        probe.once('connect', () => {
          probe.destroy();
          resolve(true);
        });
        probe.once('error', () => resolve(false));
      }),
    (open) => open,
  );
}

function securityAlerts(match: (alert: Record<string, unknown>) => boolean): Promise<CollectedRecord[]> {
  return watcher(Topics.audit).waitFor((r) => parsed(r)['type'] === 'security-alert' && match(parsed(r)));
}

const entitiesOf = (alert: Record<string, unknown>) =>
  (alert['entities'] as Array<{ type: string; reference?: string }> | undefined) ?? [];

beforeAll(async () => {
  issuer = await startTestIssuer();
  opsToken = await issuer.mint({
    kind: 'operator',
    clientId: 'ops-sender-auth',
    roles: ['platform.admin', 'ledger.read', 'ledger.replay'],
  });
  process.env['AUTH_ISSUER'] = issuer.env.AUTH_ISSUER;
  process.env['AUTH_JWKS_URL'] = issuer.env.AUTH_JWKS_URL;
  process.env['DB_NAME'] = DATABASE;
  process.env['HTTP_PORT'] = String(await freePort());
  sharedPort = await freePort();
  process.env['MLLP_PORT'] = String(sharedPort);
  process.env['MLLP_HOST'] = '127.0.0.1';
  process.env['INSTITUTIONS_SEED_FILE'] = '';
  process.env['LOG_LEVEL'] = process.env['LOG_LEVEL'] ?? 'warn';
  kafka = testKafka(`gateway-sender-auth-${RUN}`);
  await withAdmin(kafka, (admin) =>
    admin.createTopics({
      topics: [retryTopic(Topics.inboundHl7v2, GROUP), deadLetterTopic(Topics.inboundHl7v2, GROUP)].map(
        (topic) => ({
          topic,
          numPartitions: 1,
        }),
      ),
    }),
  );
  // Imported after the environment is set: settings are read once per process.
  const { AppModule, serviceOptions } = await import('../app.module');
  const { MAPPER_CONSUMER_OPTIONS, MapperConsumer } = await import('../mapping/mapper.consumer');
  await migrateService(serviceOptions, loadPlatformSettings(serviceOptions));
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
    .overrideProvider(MAPPER_CONSUMER_OPTIONS)
    .useValue({ groupId: GROUP, fromBeginning: false })
    .compile();
  app = moduleRef.createNestApplication({ logger: ['error', 'warn'] });
  await app.listen(Number(process.env['HTTP_PORT']), '127.0.0.1');
  baseUrl = `http://127.0.0.1:${process.env['HTTP_PORT']}`;
  dataSource = app.get(DataSource);
  const runner = app.get(MapperConsumer).runner;
  if (runner === undefined) throw new Error('the mapper role is off (GATEWAY_ROLES)');
  await waitFor(
    'the mapper group to join',
    async () => runner.health().connected,
    (c) => c,
    { timeoutMs: 60_000 },
  );
  for (const topic of [Topics.inboundHl7v2, Topics.patient, Topics.encounter, Topics.audit]) {
    watchers.set(topic, await TopicWatcher.open(kafka, topic));
  }
});

afterAll(async () => {
  for (const w of watchers.values()) await w.close();
  await app?.close();
  await issuer?.close();
  await withAdmin(kafka, (admin) =>
    admin.deleteTopics({
      topics: [retryTopic(Topics.inboundHl7v2, GROUP), deadLetterTopic(Topics.inboundHl7v2, GROUP)],
    }),
  ).catch(() => undefined);
  await dropTestDatabase(
    loadPlatformSettings((await import('../app.module')).serviceOptions).postgres,
    DATABASE,
  );
});

describe('an institution port with an allow-list (feed.allowedAddresses)', () => {
  let feed: Feed;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    feed = await newFeed({ port, allowedAddresses: ['127.0.0.2'] });
    await portOpen(port, '127.0.0.2');
  });

  it('takes a listed address and records ip-allow-list with the peer address, in the ledger and its API', async () => {
    const controlId = uniqueTestId('AL1');
    const ack = await exchangeFrom('127.0.0.2', port, adtA01(feed.facility, controlId, uniqueTestId('MRN')));
    expect(msaOf(ack)).toMatchObject({ code: 'AA', controlId });
    const row = await ledgerRowOf(controlId);
    expect(row).toMatchObject({
      institution_id: feed.institutionId,
      sender_authentication: 'ip-allow-list',
      sender_identity: '127.0.0.2',
    });
    const listed = await http('GET', `/ledger/messages?controlId=${controlId}`);
    expect((listed.json['items'] as unknown[])[0]).toMatchObject({
      senderAuthentication: 'ip-allow-list',
      senderIdentity: '127.0.0.2',
      senderRefused: false,
    });
    const detail = await http('GET', `/ledger/messages/${String(row?.['id'])}`);
    expect(detail.json).toMatchObject({ senderAuthentication: 'ip-allow-list', senderIdentity: '127.0.0.2' });
  });

  it('closes a connection from another address before reading, and records a security alert', async () => {
    const controlId = uniqueTestId('AL2');
    await expect(
      exchangeFrom('127.0.0.3', port, adtA01(feed.facility, controlId, uniqueTestId('MRN'))),
    ).rejects.toThrow(/closed without an ACK|ECONNRESET/);
    const [alert] = await securityAlerts(
      (a) =>
        entitiesOf(a).some(
          (e) => e.type === 'listener' && e.reference === `mllp ${feed.institutionId} :${port}`,
        ) && (a['agent'] as { clientId: string | null }).clientId === '127.0.0.3',
    );
    expect(parsed(alert)).toMatchObject({
      outcome: '8',
      subtype: 'mllp-connect',
      observer: 'interop-gateway',
    });
    expect(String(parsed(alert)['outcomeDesc'])).toContain('not on institution');
    expect(await ledgerRowOf(controlId)).toBeUndefined();
  });

  it("answers AR 204 at MSH-4 to a listed sender claiming another institution's facility: rejected, alerted, counted", async () => {
    const victim = await newFeed();
    const controlId = uniqueTestId('AL3');
    const mrn = uniqueTestId('MRN');
    const ack = await exchangeFrom('127.0.0.2', port, adtA01(victim.facility, controlId, mrn));
    expect(msaOf(ack).code).toBe('AR');
    expect(ack).toContain('|MSH^1^4^1|204^Unknown key identifier^HL70357|E|');
    expect(ack).toContain(`"${victim.facility}" is not a facility of institution "${feed.institutionId}"`);
    expect(ack).not.toContain(mrn);
    const row = await ledgerRowOf(controlId);
    expect(row).toMatchObject({
      institution_id: feed.institutionId,
      state: 'rejected',
      ack_code: 'AR',
      sender_authentication: 'ip-allow-list',
    });
    expect(String(row?.['state_detail'])).toContain(`"${victim.facility}" is not a facility`);
    const listed = await http('GET', `/ledger/messages?controlId=${controlId}`);
    expect((listed.json['items'] as unknown[])[0]).toMatchObject({ state: 'rejected', senderRefused: true });
    const [alert] = await securityAlerts((a) =>
      entitiesOf(a).some((e) => e.type === 'sending-facility' && e.reference === victim.facility),
    );
    expect(parsed(alert)).toMatchObject({
      outcome: '4',
      agent: { clientId: '127.0.0.2', institutionId: feed.institutionId },
    });
    expect(entitiesOf(parsed(alert))).toContainEqual({
      type: 'listener',
      reference: `mllp ${feed.institutionId} :${port}`,
    });
    expect(JSON.stringify(parsed(alert))).not.toContain(mrn);
    const metrics = await fetch(`${baseUrl}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(
      new RegExp(
        `gateway_sender_refusals_total\\{institution="${feed.institutionId}",channel="mllp"[^}]*\\} 1`,
      ),
    );
    // Nothing was published in the victim's name.
    const inbound = watcher(Topics.inboundHl7v2).records.filter((r) => parsed(r)['controlId'] === controlId);
    expect(inbound).toEqual([]);
  });

  it('carries ip-allow-list on hie.inbound.hl7v2 and every canonical event, and a replay keeps it', async () => {
    const controlId = uniqueTestId('AL4');
    const mrn = uniqueTestId('MRN');
    expect(msaOf(await exchangeFrom('127.0.0.2', port, adtA01(feed.facility, controlId, mrn))).code).toBe(
      'AA',
    );
    const [inbound] = await watcher(Topics.inboundHl7v2).waitFor((r) => parsed(r)['controlId'] === controlId);
    expect(parsed(inbound)).toMatchObject({
      senderAuthentication: 'ip-allow-list',
      senderIdentity: '127.0.0.2',
    });
    const key = `${feed.institutionId}|${mrn}`;
    const [patient] = await watcher(Topics.patient).waitFor((r) => r.key === key);
    const [encounter] = await watcher(Topics.encounter).waitFor((r) => r.key === key);
    expect(parsed(patient)['senderAuthentication']).toBe('ip-allow-list');
    expect(parsed(encounter)['senderAuthentication']).toBe('ip-allow-list');

    const id = String((await ledgerRowOf(controlId))?.['id']);
    await waitFor(
      'the message to be mapped',
      () => ledgerRowOf(controlId),
      (r) => r?.['state'] === 'mapped',
    );
    const replay = await http('POST', `/ledger/messages/${id}/replay`);
    expect(replay.json).toMatchObject({ outcome: 'mapped' });
    const patients = await watcher(Topics.patient).waitFor((r) => r.key === key, 2);
    expect(patients.map((r) => parsed(r)['senderAuthentication'])).toEqual([
      'ip-allow-list',
      'ip-allow-list',
    ]);
  });
});

/** An ADT^A01 of `facility` in ISO 8859-1 with MSH-18 empty: only a feed defaulting to 8859/1 reads it. */
function latin1A01(facility: string, controlId: string, mrn: string): Buffer {
  return Buffer.from(
    [
      `MSH|^~\\&|HIS|${facility}|TESSERA|REGION|20260101120000||ADT^A01^ADT_A01|${controlId}|P|2.5.1`,
      'EVN|A01|20260101120000',
      `PID|1||${mrn}^^^${facility}^MR||Lefèvre^Hélène||19800101|F`,
      'PV1|1|I|WARD1^101^A',
    ].join('\r'),
    'latin1',
  );
}

describe("a message refused for its sender never stands in for the real institution's", () => {
  // A proves itself by its source address 127.0.0.2 on its own port, B by 127.0.0.3 on its own.
  let a: Feed;
  let b: Feed;
  let portA: number;
  let portB: number;

  beforeAll(async () => {
    portA = await freePort();
    portB = await freePort();
    a = await newFeed({ port: portA, allowedAddresses: ['127.0.0.2'], defaultCharset: '8859/1' });
    b = await newFeed({ port: portB, allowedAddresses: ['127.0.0.3'] });
    await portOpen(portA, '127.0.0.2');
    await portOpen(portB, '127.0.0.3');
  });

  const inboundOf = (controlId: string) =>
    watcher(Topics.inboundHl7v2).records.filter((r) => parsed(r)['controlId'] === controlId);

  /**
   * Whether everything A published for `mrn` before now has been seen: a later message of A for
   * the same patient shares its Kafka key (partition), so it arrives after anything published before.
   */
  async function drainedFor(mrn: string): Promise<void> {
    const marker = uniqueTestId('MRK');
    expect(msaOf(await exchangeFrom('127.0.0.2', portA, adtA01(a.facility, marker, mrn))).code).toBe('AA');
    await watcher(Topics.inboundHl7v2).waitFor((r) => parsed(r)['controlId'] === marker);
  }

  it("takes A's message on A's port after B sent its exact bytes on B's port (AR 204), and publishes it once", async () => {
    const controlId = uniqueTestId('ST1');
    const mrn = uniqueTestId('MRN');
    const bytes = adtA01(a.facility, controlId, mrn);

    const planted = await exchangeFrom('127.0.0.3', portB, bytes);
    expect(msaOf(planted).code).toBe('AR');
    expect(planted).toContain('|MSH^1^4^1|204^Unknown key identifier^HL70357|E|');

    const real = await exchangeFrom('127.0.0.2', portA, bytes);
    expect(msaOf(real)).toMatchObject({ code: 'AA', controlId });
    const [inbound] = await watcher(Topics.inboundHl7v2).waitFor((r) => parsed(r)['controlId'] === controlId);
    expect(parsed(inbound)).toMatchObject({ institutionId: a.institutionId, sendingFacility: a.facility });

    // A resend by A gets the original outcome and is not published again; B's replay is still refused.
    expect(msaOf(await exchangeFrom('127.0.0.2', portA, bytes)).code).toBe('AA');
    expect(msaOf(await exchangeFrom('127.0.0.3', portB, bytes)).code).toBe('AR');
    await drainedFor(mrn);
    expect(inboundOf(controlId)).toHaveLength(1);

    const rows = await ledgerRowsOf(controlId);
    const ofA = rows.filter((r) => r['institution_id'] === a.institutionId);
    const ofB = rows.filter((r) => r['institution_id'] === b.institutionId);
    expect(ofA).toHaveLength(1);
    expect(ofA[0]).toMatchObject({ resend_count: 1 });
    expect(['published', 'mapped']).toContain(ofA[0]?.['state']);
    // Every refused attempt is kept as its own row (each is its own security alert).
    expect(ofB).toEqual([
      expect.objectContaining({ state: 'rejected', ack_code: 'AR', resend_count: 0 }),
      expect.objectContaining({ state: 'rejected', ack_code: 'AR', resend_count: 0 }),
    ]);
  });

  it("takes A's message on A's port after someone sent its exact bytes on the shared port (refused there)", async () => {
    const controlId = uniqueTestId('ST2');
    const mrn = uniqueTestId('MRN');
    const bytes = adtA01(a.facility, controlId, mrn);

    const planted = await exchangeFrom(undefined, sharedPort, bytes);
    expect(msaOf(planted).code).toBe('AR');
    expect(planted).toContain('proves who sends its feed on its own port');

    expect(msaOf(await exchangeFrom('127.0.0.2', portA, bytes))).toMatchObject({ code: 'AA', controlId });
    expect(msaOf(await exchangeFrom('127.0.0.2', portA, bytes)).code).toBe('AA');
    await drainedFor(mrn);
    expect(inboundOf(controlId)).toHaveLength(1);
    const published = (await ledgerRowsOf(controlId)).filter((r) => r['state'] !== 'rejected');
    expect(published).toEqual([
      expect.objectContaining({ institution_id: a.institutionId, resend_count: 1 }),
    ]);
  });

  it("takes A's message after B's port could not read its bytes (B's default character set), and publishes it once", async () => {
    const controlId = uniqueTestId('ST3');
    const mrn = uniqueTestId('MRN');
    // ISO 8859-1 without MSH-18: A's feed default reads it; B's (UTF-8) cannot.
    const bytes = latin1A01(a.facility, controlId, mrn);

    const planted = await exchangeFrom('127.0.0.3', portB, bytes);
    expect(msaOf(planted).code).toBe('AE');

    expect(msaOf(await exchangeFrom('127.0.0.2', portA, bytes))).toMatchObject({ code: 'AA', controlId });
    const [inbound] = await watcher(Topics.inboundHl7v2).waitFor((r) => parsed(r)['controlId'] === controlId);
    expect(String(parsed(inbound)['message'])).toContain('Lefèvre^Hélène');
    expect(msaOf(await exchangeFrom('127.0.0.2', portA, bytes)).code).toBe('AA');
    await drainedFor(mrn);
    expect(inboundOf(controlId)).toHaveLength(1);
    expect(await ledgerRowsOf(controlId)).toEqual([
      expect.objectContaining({ institution_id: b.institutionId, state: 'unparseable', ack_code: 'AE' }),
      expect.objectContaining({ institution_id: a.institutionId, resend_count: 1 }),
    ]);
  });
});

describe('a resend of a message stored unreadable', () => {
  it('is answered AE as the first time, not AA, after the feed default character set was corrected', async () => {
    const feed = await newFeed();
    const controlId = uniqueTestId('UR1');
    const bytes = latin1A01(feed.facility, controlId, uniqueTestId('MRN'));
    expect(msaOf(await exchangeFrom(undefined, sharedPort, bytes)).code).toBe('AE');

    const current = await http('GET', `/admin/institutions/${feed.institutionId}`);
    const { meta, ...document } = current.json as {
      meta: { version: number };
      feed: Record<string, unknown>;
    };
    const updated = await http('PUT', `/admin/institutions/${feed.institutionId}`, {
      body: { ...document, feed: { ...document.feed, defaultCharset: '8859/1' } },
      headers: { 'if-match': `"${meta.version}"` },
    });
    expect(updated.status).toBe(200);
    // The registry change reaches the ingest path: a new message in 8859-1 is now read.
    await waitFor(
      'the corrected default character set to apply',
      async () =>
        msaOf(
          await exchangeFrom(
            undefined,
            sharedPort,
            latin1A01(feed.facility, uniqueTestId('UP'), uniqueTestId('MRN')),
          ),
        ).code,
      (code) => code === 'AA',
    );

    const resent = await exchangeFrom(undefined, sharedPort, bytes);
    expect(msaOf(resent).code).toBe('AE');
    expect(await ledgerRowsOf(controlId)).toEqual([
      expect.objectContaining({ state: 'unparseable', ack_code: 'AE', resend_count: 1 }),
    ]);
  });
});

describe('the shared port on loopback (development default)', () => {
  it('believes MSH-4 and records loopback with the peer address, on the ledger and the events', async () => {
    const feed = await newFeed();
    const controlId = uniqueTestId('LB1');
    const mrn = uniqueTestId('MRN');
    expect(msaOf(await exchangeFrom(undefined, sharedPort, adtA01(feed.facility, controlId, mrn))).code).toBe(
      'AA',
    );
    expect(await ledgerRowOf(controlId)).toMatchObject({
      institution_id: feed.institutionId,
      sender_authentication: 'loopback',
      sender_identity: '127.0.0.1',
    });
    const [patient] = await watcher(Topics.patient).waitFor((r) => r.key === `${feed.institutionId}|${mrn}`);
    expect(parsed(patient)['senderAuthentication']).toBe('loopback');
  });

  it('does not take the messages of an institution that authenticates on its own port', async () => {
    const listed = await newFeed({ port: await freePort(), allowedAddresses: ['10.0.0.0/8'] });
    const controlId = uniqueTestId('LB2');
    const ack = await exchangeFrom(
      undefined,
      sharedPort,
      adtA01(listed.facility, controlId, uniqueTestId('MRN')),
    );
    expect(msaOf(ack).code).toBe('AR');
    expect(ack).toContain('proves who sends its feed on its own port');
    await securityAlerts((a) =>
      entitiesOf(a).some((e) => e.type === 'sending-facility' && e.reference === listed.facility),
    );
  });
});

describe('uploads with an access token', () => {
  it('records access-token for a FHIR Bundle (ledger and events) and an HL7 batch (ledger)', async () => {
    const feed = await newFeed();
    const token = await issuer.mint({
      kind: 'institution',
      clientId: `${feed.institutionId}-client`,
      institutionId: feed.institutionId,
      scopes: ['system/Bundle.write'],
    });
    const mrn = uniqueTestId('FMRN');
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      identifier: { system: 'urn:ietf:rfc:3986', value: `urn:uuid:${crypto.randomUUID()}` },
      entry: [
        {
          fullUrl: 'urn:uuid:11111111-1111-4111-8111-111111111111',
          resource: {
            resourceType: 'Patient',
            identifier: [{ system: feed.system, value: mrn }],
            name: [{ family: 'Synthetic', given: ['Token'] }],
          },
          request: { method: 'POST', url: 'Patient' },
        },
      ],
    };
    const fhir = await http('POST', '/fhir', {
      body: bundle,
      headers: { 'content-type': 'application/fhir+json' },
      token,
    });
    expect(fhir.status).toBe(200);
    const [patient] = await watcher(Topics.patient).waitFor((r) => r.key === `${feed.institutionId}|${mrn}`);
    expect(parsed(patient)).toMatchObject({ channel: 'fhir', senderAuthentication: 'access-token' });
    const [fhirRow] = await dataSource.query<Array<Record<string, unknown>>>(
      `SELECT sender_authentication, sender_identity FROM ledger_messages WHERE institution_id = $1 AND channel = 'http'`,
      [feed.institutionId],
    );
    expect(fhirRow).toEqual({
      sender_authentication: 'access-token',
      sender_identity: `${feed.institutionId}-client`,
    });

    const controlId = uniqueTestId('BAT');
    const batch = await http('POST', '/hl7/batch', {
      body: adtA01(feed.facility, controlId, uniqueTestId('MRN')),
      headers: { 'content-type': 'x-application/hl7-v2+er7' },
      token,
    });
    expect(batch.json).toMatchObject({ accepted: 1 });
    expect(await ledgerRowOf(controlId)).toMatchObject({
      sender_authentication: 'access-token',
      sender_identity: `${feed.institutionId}-client`,
    });
  });
});
