import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import {
  dropTestDatabase,
  freePort,
  mllpExchange,
  msaOf,
  startServiceProcess,
  TcpProxy,
  testClientConfig,
  testPostgresSettings,
  waitFor,
} from '@tessera/testing';
import type { RunningService } from '@tessera/testing';

function adt(controlId: string, mrn: string): string {
  return [
    `MSH|^~\\&|EPIC|STAURELIA|TESSERA|HIE|20260101120000||ADT^A01^ADT_A01|${controlId}|P|2.5.1`,
    'EVN|A01|20260101120000',
    `PID|1||${mrn}^^^STA^MR||Testperson^Outage||19800101|F`,
    'PV1|1|I|WARD1^101^A',
  ].join('\r');
}

/**
 * The other half of "never AA for a message the exchange does not have": with Postgres unreachable
 * (the gateway's connections go through a proxy the test cuts) the answer is AR 207 within the
 * bound, nothing reaches Kafka, and after recovery the same message is accepted.
 */
describe('interop-gateway ACK with the database unreachable', () => {
  const database = `tessera_gateway_test_pgoutage_${randomUUID().slice(0, 8)}`;
  const run = randomUUID().slice(0, 8);
  let proxy: TcpProxy;
  let gateway: RunningService;
  let mllpPort: number;

  beforeAll(async () => {
    proxy = await TcpProxy.start(testPostgresSettings().PGPORT, testPostgresSettings().PGHOST);
    mllpPort = await freePort();
    gateway = await startServiceProcess('interop-gateway', await freePort(), {
      DB_NAME: database,
      PGPORT: String(proxy.port),
      MLLP_PORT: String(mllpPort),
      INGEST_DURABLE_TIMEOUT_MS: '4000',
      GATEWAY_ROLES: 'mllp',
    });
  });

  afterAll(async () => {
    await gateway?.terminate();
    await proxy?.close();
    await dropTestDatabase(testPostgresSettings(), database);
  });

  it('answers AR 207 while Postgres is unreachable and accepts the resend after recovery', async () => {
    const [before] = await mllpExchange(mllpPort, [adt(`PG0-${run}`, `MRN-${run}-0`)]);
    expect(msaOf(before).code).toBe('AA');

    proxy.cut();
    const controlId = `PG1-${run}`;
    const started = Date.now();
    const [during] = await mllpExchange(mllpPort, [adt(controlId, `MRN-${run}-1`)], { timeoutMs: 30_000 });
    expect(msaOf(during)).toMatchObject({ code: 'AR', controlId });
    expect(msaOf(during).text).toContain('207^Application internal error');
    expect(Date.now() - started).toBeLessThan(15_000);

    proxy.restore();
    const [after] = await mllpExchange(mllpPort, [adt(controlId, `MRN-${run}-1`)], { timeoutMs: 30_000 });
    expect(msaOf(after)).toMatchObject({ code: 'AA', controlId });

    const db = new Client(testClientConfig(database));
    await db.connect();
    try {
      // One row (the failed attempt was rolled back), marked published after the answer.
      const rows = await waitFor(
        'the message marked published',
        async () =>
          (
            await db.query<{ state: string }>(`SELECT state FROM ledger_messages WHERE control_id = $1`, [
              controlId,
            ])
          ).rows,
        (found) => found.length === 1 && found[0]?.state === 'published',
      );
      expect(rows).toEqual([{ state: 'published' }]);
    } finally {
      await db.end();
    }
  });
});
