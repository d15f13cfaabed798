import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { Client } from 'pg';
import { Topics } from '@tessera/contracts';
import { encodeMllpFrame, MllpFrameDecoder } from '@tessera/hl7v2';
import {
  dropTestDatabase,
  freePort,
  mllpExchange,
  msaOf,
  startServiceProcess,
  testClientConfig,
  testKafka,
  testPostgresSettings,
  TopicWatcher,
} from '@tessera/testing';
import type { CollectedRecord, RunningService } from '@tessera/testing';

type ClientCertificate = 'client' | 'aurelia' | 'mallory' | 'rogue' | 'none';

/**
 * Makes a throw-away CA, a server certificate for 127.0.0.1 and client certificates (openssl):
 * riverside's engine (CN riverside-engine), St. Aurelia's (CN st-aurelia), one of the same CA that
 * names no institution (CN mallory), and a self-signed one (rogue).
 */
function makePki(dir: string): void {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  ssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=Tessera Test CA',
  );
  writeFileSync(path.join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  for (const [name, subject, ext] of [
    ['server', '/CN=localhost', ['-extfile', 'server.ext']],
    ['client', '/CN=riverside-engine', []],
    ['aurelia', '/CN=st-aurelia', []],
    ['mallory', '/CN=mallory', []],
  ] as const) {
    ssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      subject,
    );
    ssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.pem`,
      '-days',
      '2',
      ...ext,
    );
  }
  ssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'rogue.key',
    '-out',
    'rogue.pem',
    '-days',
    '2',
    '-subj',
    '/CN=rogue',
  );
}

function tlsExchange(port: number, dir: string, client: ClientCertificate, message: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      ca: readFileSync(path.join(dir, 'ca.pem')),
      ...(client === 'none'
        ? {}
        : {
            cert: readFileSync(path.join(dir, `${client}.pem`)),
            key: readFileSync(path.join(dir, `${client}.key`)),
          }),
    });
    const decoder = new MllpFrameDecoder({ maxFrameBytes: 1 << 20 });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no ACK within 15 s'));
    }, 15_000);
    socket.on('secureConnect', () => socket.write(encodeMllpFrame(Buffer.from(message))));
    socket.on('data', (chunk: Buffer) => {
      for (const event of decoder.push(chunk)) {
        if (event.kind === 'frame') {
          clearTimeout(timer);
          socket.end();
          resolve(event.payload.toString('utf8'));
        }
      }
    });
    socket.on('error', (error: Error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      reject(new Error('connection closed without an ACK'));
    });
  });
}

function parsed(record: CollectedRecord): Record<string, unknown> {
  return JSON.parse(record.value ?? 'null') as Record<string, unknown>;
}

async function ledgerRows(
  database: string,
  controlId: string,
): Promise<Array<Record<string, string | null>>> {
  const db = new Client(testClientConfig(database));
  await db.connect();
  try {
    const result = await db.query<Record<string, string | null>>(
      `SELECT peer, institution_id, state, state_detail, ack_code, sender_authentication, sender_identity
       FROM ledger_messages WHERE control_id = $1`,
      [controlId],
    );
    return result.rows;
  } finally {
    await db.end();
  }
}

/** The security alerts on hie.audit whose listener is `listener` and that satisfy `match`. */
function alertsOn(
  audit: TopicWatcher,
  listener: string,
  match: (alert: Record<string, unknown>) => boolean,
): Promise<CollectedRecord[]> {
  return audit.waitFor((r) => {
    const alert = parsed(r);
    const entities = (alert['entities'] as Array<{ type: string; reference?: string }> | undefined) ?? [];
    return (
      alert['type'] === 'security-alert' &&
      entities.some((e) => e.type === 'listener' && e.reference === listener) &&
      match(alert)
    );
  });
}

function institutionsYaml(tlsPort: number, plainPort?: number): string {
  const plain =
    plainPort === undefined
      ? []
      : [
          '  - id: north-valley',
          '    name: North Valley (plain port, no allow-list)',
          '    sendingFacilities: [NVMC]',
          '    assigningAuthorities: [{ namespace: NVMC, system: "urn:oid:2.16.840.1.113883.3.9999.3.1", default: true }]',
          `    feed: { ackMode: original, defaultCharset: "UNICODE UTF-8", port: ${plainPort} }`,
        ];
  return [
    'region: tls-test',
    'institutions:',
    '  - id: riverside',
    '    name: Riverside (TLS feed)',
    '    sendingFacilities: [RIVERSIDE]',
    '    assigningAuthorities: [{ namespace: RCC, system: "urn:oid:2.16.840.1.113883.3.9999.2.1", default: true }]',
    `    feed: { ackMode: original, defaultCharset: "UNICODE UTF-8", tls: true, port: ${tlsPort}, certificateNames: [riverside-engine] }`,
    '  - id: st-aurelia',
    '    name: St. Aurelia',
    '    sendingFacilities: [STAURELIA]',
    '    assigningAuthorities: [{ namespace: STA, system: "urn:oid:2.16.840.1.113883.3.9999.1.1", default: true }]',
    '    feed: { ackMode: original, defaultCharset: "UNICODE UTF-8", tls: false }',
    ...plain,
    '',
  ].join('\n');
}

describe('interop-gateway MLLP over TLS on an institution port', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tessera-tls-'));
  const database = `tessera_gateway_test_tls_${randomUUID().slice(0, 8)}`;
  const run = randomUUID().slice(0, 8);
  const kafka = testKafka(`mllp-tls-${run}`);
  let gateway: RunningService;
  let audit: TopicWatcher;
  let sharedPort: number;
  let tlsPort: number;

  const adt = (facility: string, controlId: string) =>
    [
      `MSH|^~\\&|ENGINE|${facility}|TESSERA|HIE|20260101120000||ADT^A04^ADT_A01|${controlId}|P|2.5.1`,
      `PID|1||TLS-${run}^^^RCC^MR||Testperson^Tls||19800101|F`,
      'PV1|1|O',
    ].join('\r');

  beforeAll(async () => {
    makePki(dir);
    sharedPort = await freePort();
    tlsPort = await freePort();
    writeFileSync(path.join(dir, 'institutions.yaml'), institutionsYaml(tlsPort));
    audit = await TopicWatcher.open(kafka, Topics.audit);
    gateway = await startServiceProcess('interop-gateway', await freePort(), {
      DB_NAME: database,
      // Listeners and ingest only: no mapper joining the shared consumer group.
      GATEWAY_ROLES: 'mllp',
      MLLP_PORT: String(sharedPort),
      INSTITUTIONS_SEED_FILE: path.join(dir, 'institutions.yaml'),
      MLLP_TLS_CERT_FILE: path.join(dir, 'server.pem'),
      MLLP_TLS_KEY_FILE: path.join(dir, 'server.key'),
      MLLP_TLS_CA_FILE: path.join(dir, 'ca.pem'),
    });
  });

  afterAll(async () => {
    await audit?.close();
    await gateway?.terminate();
    rmSync(dir, { recursive: true, force: true });
    await dropTestDatabase(testPostgresSettings(), database);
  });

  it('accepts the institution over TLS with one of its certificate names, and records how it was authenticated', async () => {
    const controlId = `TLS1-${run}`;
    const ack = await tlsExchange(tlsPort, dir, 'client', adt('RIVERSIDE', controlId));
    expect(msaOf(ack)).toMatchObject({ code: 'AA', controlId });
    const [row] = await ledgerRows(database, controlId);
    expect(row?.['peer']).toMatch(/^CN=riverside-engine@127\.0\.0\.1:\d+$/);
    expect(row).toMatchObject({
      institution_id: 'riverside',
      sender_authentication: 'tls-client-certificate',
      sender_identity: 'CN=riverside-engine',
    });
  });

  it('refuses a client without a certificate, or with one from another CA', async () => {
    await expect(tlsExchange(tlsPort, dir, 'none', adt('RIVERSIDE', `TLS2-${run}`))).rejects.toThrow();
    await expect(tlsExchange(tlsPort, dir, 'rogue', adt('RIVERSIDE', `TLS3-${run}`))).rejects.toThrow();
  });

  it("closes, before any ACK, a connection whose certificate (same CA) is not one of the institution's names, and alerts", async () => {
    const controlId = `TLS6-${run}`;
    await expect(tlsExchange(tlsPort, dir, 'aurelia', adt('RIVERSIDE', controlId))).rejects.toThrow(
      /closed without an ACK|ECONNRESET|socket hang up/,
    );
    const [alert] = await alertsOn(
      audit,
      `mllp riverside :${tlsPort}`,
      (a) => (a['agent'] as { clientId: string | null }).clientId === 'CN=st-aurelia',
    );
    expect(parsed(alert)).toMatchObject({
      outcome: '8',
      subtype: 'mllp-connect',
      observer: 'interop-gateway',
    });
    expect(String(parsed(alert)['outcomeDesc'])).toContain('riverside');
    expect(await ledgerRows(database, controlId)).toEqual([]);
  });

  it("answers AR 204 at MSH-4 when the authenticated institution sends as another's facility: ledger rejected, security alert", async () => {
    const controlId = `TLS4-${run}`;
    const ack = await tlsExchange(tlsPort, dir, 'client', adt('STAURELIA', controlId));
    expect(msaOf(ack).code).toBe('AR');
    expect(ack).toContain('|MSH^1^4^1|204^Unknown key identifier^HL70357|E|');
    expect(ack).toContain('"STAURELIA" is not a facility of institution "riverside"');
    expect(ack).not.toContain('Testperson');
    const [row] = await ledgerRows(database, controlId);
    expect(row).toMatchObject({
      institution_id: 'riverside',
      state: 'rejected',
      ack_code: 'AR',
      sender_authentication: 'tls-client-certificate',
      sender_identity: 'CN=riverside-engine',
    });
    expect(row?.['state_detail']).toContain('"STAURELIA" is not a facility of institution "riverside"');
    const [alert] = await alertsOn(audit, `mllp riverside :${tlsPort}`, (a) =>
      (a['entities'] as Array<{ type: string; reference?: string }>).some(
        (e) => e.type === 'sending-facility' && e.reference === 'STAURELIA',
      ),
    );
    expect(parsed(alert)).toMatchObject({
      outcome: '4',
      agent: { clientId: 'CN=riverside-engine', institutionId: 'riverside' },
    });
    expect(JSON.stringify(parsed(alert))).not.toContain('Testperson');
  });

  it("does not take a TLS institution's messages on the shared plain port", async () => {
    const [ack] = await mllpExchange(sharedPort, [adt('RIVERSIDE', `TLS5-${run}`)]);
    expect(msaOf(ack).code).toBe('AR');
    expect(msaOf(ack).text).toContain('proves who sends its feed on its own port');
  });
});

describe('interop-gateway MLLP with a TLS shared port (MLLP_SHARED_TLS)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tessera-tls-shared-'));
  const database = `tessera_gateway_test_tlsshared_${randomUUID().slice(0, 8)}`;
  const run = randomUUID().slice(0, 8);
  const kafka = testKafka(`mllp-tls-shared-${run}`);
  let gateway: RunningService;
  let audit: TopicWatcher;
  let sharedPort: number;
  let plainPort: number;

  const adt = (facility: string, controlId: string) =>
    [
      `MSH|^~\\&|ENGINE|${facility}|TESSERA|HIE|20260101120000||ADT^A04^ADT_A01|${controlId}|P|2.5.1`,
      `PID|1||SHR-${run}^^^STA^MR||Testperson^Shared||19800101|F`,
      'PV1|1|O',
    ].join('\r');

  beforeAll(async () => {
    makePki(dir);
    sharedPort = await freePort();
    plainPort = await freePort();
    writeFileSync(path.join(dir, 'institutions.yaml'), institutionsYaml(await freePort(), plainPort));
    audit = await TopicWatcher.open(kafka, Topics.audit);
    gateway = await startServiceProcess('interop-gateway', await freePort(), {
      DB_NAME: database,
      GATEWAY_ROLES: 'mllp',
      // Reachable from other machines: allowed because the shared port is TLS with client certificates.
      MLLP_HOST: '0.0.0.0',
      MLLP_SHARED_TLS: 'true',
      MLLP_PORT: String(sharedPort),
      INSTITUTIONS_SEED_FILE: path.join(dir, 'institutions.yaml'),
      MLLP_TLS_CERT_FILE: path.join(dir, 'server.pem'),
      MLLP_TLS_KEY_FILE: path.join(dir, 'server.key'),
      MLLP_TLS_CA_FILE: path.join(dir, 'ca.pem'),
    });
  });

  afterAll(async () => {
    await audit?.close();
    await gateway?.terminate();
    rmSync(dir, { recursive: true, force: true });
    await dropTestDatabase(testPostgresSettings(), database);
  });

  it("the certificate's CN names the institution: its own facility is accepted, another's is AR 204", async () => {
    const own = `SHR1-${run}`;
    expect(msaOf(await tlsExchange(sharedPort, dir, 'aurelia', adt('STAURELIA', own))).code).toBe('AA');
    expect((await ledgerRows(database, own))[0]).toMatchObject({
      institution_id: 'st-aurelia',
      sender_authentication: 'tls-client-certificate',
      sender_identity: 'CN=st-aurelia',
    });
    const spoofed = `SHR2-${run}`;
    const ack = await tlsExchange(sharedPort, dir, 'aurelia', adt('RIVERSIDE', spoofed));
    expect(msaOf(ack).code).toBe('AR');
    expect(ack).toContain('204^Unknown key identifier^HL70357');
    expect((await ledgerRows(database, spoofed))[0]).toMatchObject({
      institution_id: 'st-aurelia',
      state: 'rejected',
    });
    const [alert] = await alertsOn(
      audit,
      `mllp shared :${sharedPort}`,
      (a) => (a['agent'] as { institutionId: string | null }).institutionId === 'st-aurelia',
    );
    expect(String(parsed(alert)['outcomeDesc'])).toContain('MSH-4 "RIVERSIDE"');
  });

  it('refuses a certificate of the CA that names no institution, and a plain connection', async () => {
    await expect(tlsExchange(sharedPort, dir, 'mallory', adt('STAURELIA', `SHR3-${run}`))).rejects.toThrow();
    await alertsOn(
      audit,
      `mllp shared :${sharedPort}`,
      (a) => (a['agent'] as { clientId: string | null }).clientId === 'CN=mallory',
    );
    await expect(
      mllpExchange(sharedPort, [adt('STAURELIA', `SHR4-${run}`)], { timeoutMs: 5_000 }),
    ).rejects.toThrow();
    expect(await ledgerRows(database, `SHR3-${run}`)).toEqual([]);
    expect(await ledgerRows(database, `SHR4-${run}`)).toEqual([]);
  });

  it('does not open a plain institution port without an allow-list off loopback, and keeps running', async () => {
    const refused = await new Promise<string>((resolve) => {
      const probe = net.connect({ host: '127.0.0.1', port: plainPort });
      probe.once('connect', () => {
        probe.destroy();
        resolve('connected');
      });
      probe.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    });
    expect(refused).toBe('ECONNREFUSED');
    expect(gateway.output()).toContain('MLLP institution port not opened');
    expect((await fetch(`${gateway.url}/health/live`)).status).toBe(200);
  });
});
