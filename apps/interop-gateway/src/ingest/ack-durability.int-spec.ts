import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { Client } from 'pg';
import { Topics } from '@tessera/contracts';
import {
  collectRecords,
  dropTestDatabase,
  freePort,
  mllpExchange,
  msaOf,
  ScratchBroker,
  startServiceProcess,
  testClientConfig,
  testPostgresSettings,
  workspacePath,
} from '@tessera/testing';
import type { RunningService } from '@tessera/testing';

const run = promisify(execFile);

function adt(controlId: string, mrn: string): string {
  return [
    `MSH|^~\\&|EPIC|STAURELIA|TESSERA|HIE|20260101120000||ADT^A01^ADT_A01|${controlId}|P|2.5.1`,
    'EVN|A01|20260101120000',
    `PID|1||${mrn}^^^STA^MR||Testperson^Durable||19800101|F`,
    'PV1|1|I|WARD1^101^A',
  ].join('\r');
}

/**
 * The contract with the hospital: an AA means the message is in the ledger AND on Kafka
 * (acks=all). With the broker down the gateway answers negatively within its bound, keeps the
 * message, and a resend after recovery is accepted and published exactly once.
 */
describe('interop-gateway ACK durability (real broker stopped and restarted)', () => {
  let broker: ScratchBroker;
  let gateway: RunningService;
  let mllpPort: number;
  // Its own database: another gateway on the shared database would republish our stored message
  // to its own broker (the ledger doubles as the raw messages' outbox).
  const database = `tessera_gateway_test_durability_${randomUUID().slice(0, 8)}`;
  const db = new Client(testClientConfig(database));

  beforeAll(async () => {
    broker = await ScratchBroker.create();
    await run('node', [workspacePath('dist/tools/platform/init.js')], {
      env: { ...process.env, KAFKA_BROKERS: broker.brokers, KAFKA_TOPIC_PARTITIONS: '2' },
    });
    mllpPort = await freePort();
    gateway = await startServiceProcess('interop-gateway', await freePort(), {
      KAFKA_BROKERS: broker.brokers,
      DB_NAME: database,
      MLLP_PORT: String(mllpPort),
      INGEST_DURABLE_TIMEOUT_MS: '4000',
      LEDGER_REPUBLISH_AFTER_MS: '600000',
    });
    await db.connect();
  });

  afterAll(async () => {
    await gateway?.terminate();
    await broker?.destroy();
    await db.end();
    await dropTestDatabase(testPostgresSettings(), database);
  });

  it('never answers AA for a message it could not publish, and publishes a resend exactly once', async () => {
    const kafka = new Kafka({
      clientId: 'durability-test',
      brokers: [broker.brokers],
      logLevel: logLevel.NOTHING,
    });
    const runId = randomUUID().slice(0, 8);

    const [first] = await mllpExchange(mllpPort, [adt(`D1-${runId}`, `MRN-${runId}-1`)]);
    expect(msaOf(first).code).toBe('AA');

    await broker.stop();
    const controlId = `D2-${runId}`;
    const message = adt(controlId, `MRN-${runId}-2`);
    const started = Date.now();
    const [during] = await mllpExchange(mllpPort, [message], { timeoutMs: 30_000 });
    const answer = msaOf(during);
    expect(answer.code).toBe('AR');
    expect(answer.controlId).toBe(controlId);
    expect(answer.text).toContain('207^Application internal error');
    expect(Date.now() - started).toBeLessThan(15_000);

    // Not acknowledged, but not lost: the ledger holds it, waiting for publication.
    const stored = await db.query<{ state: string }>(
      `SELECT state FROM ledger_messages WHERE sending_facility = 'STAURELIA' AND control_id = $1`,
      [controlId],
    );
    expect(stored.rows).toEqual([{ state: 'received' }]);

    await broker.start();
    const [after] = await mllpExchange(mllpPort, [message], { timeoutMs: 60_000 });
    expect(msaOf(after).code).toBe('AA');

    // The scratch broker's topic holds only this test's records: both messages, each exactly once
    // (the publish attempted during the outage and the resend share one ledger id / event id).
    const records = await collectRecords(kafka, Topics.inboundHl7v2, 2, {
      timeoutMs: 30_000,
      settleMs: 3_000,
    });
    const ids = records.map((r) => r.headers['ce_id']);
    expect(new Set(ids).size).toBe(ids.length);
    expect(records.filter((r) => (r.value ?? '').includes(`"controlId":"${controlId}"`))).toHaveLength(1);
    const row = await db.query<{ state: string; resend_count: number }>(
      `SELECT state, resend_count FROM ledger_messages WHERE sending_facility = 'STAURELIA' AND control_id = $1`,
      [controlId],
    );
    expect(row.rows).toHaveLength(1);
    expect(row.rows[0].resend_count).toBe(1);
    expect(['published', 'mapped']).toContain(row.rows[0].state);
  });
});
