// The gateway as `npm start` and the containers run it (compiled, its own process): how it refuses
// a shared MLLP port that would take unauthenticated senders from other machines, and what it
// records when an operator opens one explicitly.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import {
  dropTestDatabase,
  freePort,
  mllpExchange,
  msaOf,
  startServiceProcess,
  testClientConfig,
  testPostgresSettings,
  workspacePath,
} from '@tessera/testing';
import type { RunningService } from '@tessera/testing';

describe('interop-gateway boot: MLLP listeners off loopback authenticate their senders', () => {
  it('exits 78 naming the variables when the plain shared port would bind a non-loopback host', () => {
    const result = spawnSync('node', [workspacePath('dist/apps/interop-gateway/src/main.js')], {
      env: {
        ...process.env,
        MLLP_HOST: '0.0.0.0',
        MLLP_SHARED_TLS: '',
        MLLP_SHARED_PORT_UNAUTHENTICATED: '',
      },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).toBe(78);
    expect(result.stderr).toContain('interop-gateway: cannot start.');
    expect(result.stderr).toContain('MLLP_HOST: is not a loopback address');
    expect(result.stderr).toContain('MLLP_SHARED_TLS=true');
    expect(result.stderr).toContain('MLLP_SHARED_PORT_UNAUTHENTICATED=true');
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('exits 78 when the shared port is TLS without its certificate files', () => {
    const result = spawnSync('node', [workspacePath('dist/apps/interop-gateway/src/main.js')], {
      env: {
        ...process.env,
        MLLP_HOST: '0.0.0.0',
        MLLP_SHARED_TLS: 'true',
        MLLP_TLS_CERT_FILE: '',
        MLLP_TLS_KEY_FILE: '',
        MLLP_TLS_CA_FILE: '',
      },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).toBe(78);
    expect(result.stderr).toContain('MLLP_TLS_CERT_FILE: is missing (MLLP_SHARED_TLS=true)');
  });

  describe('with MLLP_SHARED_PORT_UNAUTHENTICATED=true', () => {
    const database = `tessera_gateway_test_boot_${randomUUID().slice(0, 8)}`;
    let gateway: RunningService;
    let port: number;

    beforeAll(async () => {
      port = await freePort();
      gateway = await startServiceProcess('interop-gateway', await freePort(), {
        DB_NAME: database,
        GATEWAY_ROLES: 'mllp',
        MLLP_HOST: '0.0.0.0',
        MLLP_PORT: String(port),
        MLLP_SHARED_PORT_UNAUTHENTICATED: 'true',
      });
    });

    afterAll(async () => {
      await gateway?.terminate();
      await dropTestDatabase(testPostgresSettings(), database);
    });

    it("boots, believes MSH-4 and records the sender's authentication as none", async () => {
      const controlId = `NONE-${randomUUID().slice(0, 8)}`;
      const [ack] = await mllpExchange(port, [
        [
          `MSH|^~\\&|EPIC|STAURELIA|TESSERA|HIE|20260101120000||ADT^A04^ADT_A01|${controlId}|P|2.5.1`,
          `PID|1||${controlId}^^^STA^MR||Testperson^Open||19800101|F`,
          'PV1|1|O',
        ].join('\r'),
      ]);
      expect(msaOf(ack).code).toBe('AA');
      const db = new Client(testClientConfig(database));
      await db.connect();
      const { rows } = await db.query<{
        institution_id: string;
        sender_authentication: string;
        sender_identity: string | null;
      }>(
        'SELECT institution_id, sender_authentication, sender_identity FROM ledger_messages WHERE control_id = $1',
        [controlId],
      );
      await db.end();
      expect(rows).toEqual([
        { institution_id: 'st-aurelia', sender_authentication: 'none', sender_identity: null },
      ]);
    });
  });
});
