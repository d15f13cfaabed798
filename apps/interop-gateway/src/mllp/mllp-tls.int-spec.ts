import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { Client } from 'pg';
import { encodeMllpFrame, MllpFrameDecoder } from '@tessera/hl7v2';
import {
  dropTestDatabase,
  freePort,
  mllpExchange,
  msaOf,
  startServiceProcess,
  testClientConfig,
  testPostgresSettings,
} from '@tessera/testing';
import type { RunningService } from '@tessera/testing';

/** Makes a throw-away CA, a server certificate for 127.0.0.1 and client certificates (openssl). */
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

function tlsExchange(
  port: number,
  dir: string,
  client: 'client' | 'rogue' | 'none',
  message: string,
): Promise<string> {
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

describe('interop-gateway MLLP over TLS on an institution port', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tessera-tls-'));
  const database = `tessera_gateway_test_tls_${randomUUID().slice(0, 8)}`;
  const run = randomUUID().slice(0, 8);
  let gateway: RunningService;
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
    writeFileSync(
      path.join(dir, 'institutions.yaml'),
      [
        'region: tls-test',
        'institutions:',
        '  - id: riverside',
        '    name: Riverside (TLS feed)',
        '    sendingFacilities: [RIVERSIDE]',
        '    assigningAuthorities: [{ namespace: RCC, system: "urn:oid:2.16.840.1.113883.3.9999.2.1", default: true }]',
        `    feed: { ackMode: original, defaultCharset: "UNICODE UTF-8", tls: true, port: ${tlsPort} }`,
        '  - id: st-aurelia',
        '    name: St. Aurelia',
        '    sendingFacilities: [STAURELIA]',
        '    assigningAuthorities: [{ namespace: STA, system: "urn:oid:2.16.840.1.113883.3.9999.1.1", default: true }]',
        '    feed: { ackMode: original, defaultCharset: "UNICODE UTF-8", tls: false }',
        '',
      ].join('\n'),
    );
    gateway = await startServiceProcess('interop-gateway', await freePort(), {
      DB_NAME: database,
      MLLP_PORT: String(sharedPort),
      INSTITUTIONS_SEED_FILE: path.join(dir, 'institutions.yaml'),
      MLLP_TLS_CERT_FILE: path.join(dir, 'server.pem'),
      MLLP_TLS_KEY_FILE: path.join(dir, 'server.key'),
      MLLP_TLS_CA_FILE: path.join(dir, 'ca.pem'),
    });
  });

  afterAll(async () => {
    await gateway?.terminate();
    rmSync(dir, { recursive: true, force: true });
    await dropTestDatabase(testPostgresSettings(), database);
  });

  it('accepts the institution over TLS with a client certificate from the configured CA, and records its name', async () => {
    const controlId = `TLS1-${run}`;
    const ack = await tlsExchange(tlsPort, dir, 'client', adt('RIVERSIDE', controlId));
    expect(msaOf(ack)).toMatchObject({ code: 'AA', controlId });
    const db = new Client(testClientConfig(database));
    await db.connect();
    const row = await db.query<{ peer: string }>('SELECT peer FROM ledger_messages WHERE control_id = $1', [
      controlId,
    ]);
    await db.end();
    expect(row.rows[0]?.peer).toMatch(/^CN=riverside-engine@127\.0\.0\.1:\d+$/);
  });

  it('refuses a client without a certificate, or with one from another CA', async () => {
    await expect(tlsExchange(tlsPort, dir, 'none', adt('RIVERSIDE', `TLS2-${run}`))).rejects.toThrow();
    await expect(tlsExchange(tlsPort, dir, 'rogue', adt('RIVERSIDE', `TLS3-${run}`))).rejects.toThrow();
  });

  it("answers AR when another institution's facility sends on the reserved port", async () => {
    const ack = await tlsExchange(tlsPort, dir, 'client', adt('STAURELIA', `TLS4-${run}`));
    expect(msaOf(ack).code).toBe('AR');
    expect(ack).toContain('reserved for institution "riverside"');
  });

  it("does not take a TLS institution's messages on the shared plain port", async () => {
    const [ack] = await mllpExchange(sharedPort, [adt('RIVERSIDE', `TLS5-${run}`)]);
    expect(msaOf(ack).code).toBe('AR');
    expect(msaOf(ack).text).toContain('sends over TLS');
  });
});
