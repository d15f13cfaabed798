import { randomUUID } from 'node:crypto';
import iconv from 'iconv-lite';
import { Client } from 'pg';
import { Topics } from '@tessera/contracts';
import { encodeMllpFrame } from '@tessera/hl7v2';
import {
  dropTestDatabase,
  freePort,
  mllpExchange,
  msaOf,
  startServiceProcess,
  startTestIssuer,
  testClientConfig,
  testKafka,
  testPostgresSettings,
  TopicWatcher,
  waitFor,
} from '@tessera/testing';
import type { RunningService, TestIssuer } from '@tessera/testing';

/**
 * The MLLP contract with hospitals, end to end through the running gateway, the real Kafka and
 * Postgres: ACK codes and ERR per HL7 table 0357, duplicates, character sets, framing errors.
 */
describe('interop-gateway MLLP ingest', () => {
  const database = `tessera_gateway_test_ingest_${randomUUID().slice(0, 8)}`;
  const run = randomUUID().slice(0, 8);
  const db = new Client(testClientConfig(database));
  const kafka = testKafka('mllp-ingest-test');
  let gateway: RunningService;
  let mllpPort: number;
  let watcher: TopicWatcher;

  const ledger = async (facility: string, controlId: string) =>
    (
      await db.query<{
        state: string;
        ack_code: string;
        resend_count: number;
        duplicate_control_id: boolean;
        charset: string;
      }>(
        `SELECT state, ack_code, resend_count, duplicate_control_id, charset FROM ledger_messages
         WHERE sending_facility = $1 AND control_id = $2 ORDER BY received_at`,
        [facility, controlId],
      )
    ).rows;

  function adt(controlId: string, mrn: string, facility = 'STAURELIA', extra = ''): string {
    return [
      `MSH|^~\\&|EPIC|${facility}|TESSERA|HIE|20260101120000||ADT^A04^ADT_A01|${controlId}|P|2.5.1`,
      'EVN|A04|20260101120000',
      `PID|1||${mrn}^^^STA^MR||Testperson^Ingest${extra}||19800101|F`,
      'PV1|1|O|CLINIC^1^A',
    ].join('\r');
  }

  let issuer: TestIssuer;

  beforeAll(async () => {
    mllpPort = await freePort();
    issuer = await startTestIssuer();
    gateway = await startServiceProcess('interop-gateway', await freePort(), {
      DB_NAME: database,
      MLLP_PORT: String(mllpPort),
      ...issuer.env,
    });
    await db.connect();
    watcher = await TopicWatcher.open(kafka, Topics.inboundHl7v2);
  });

  afterAll(async () => {
    await watcher?.close();
    await gateway?.terminate();
    await issuer?.close();
    await db.end();
    await dropTestDatabase(testPostgresSettings(), database);
  });

  it('ACKs AA echoing MSH-10 and swapping sender/receiver, and publishes the raw message once', async () => {
    const controlId = `A-${run}`;
    const [ack] = await mllpExchange(mllpPort, [adt(controlId, `M-${run}-1`)]);
    const text = ack.toString('utf8');
    expect(msaOf(text)).toMatchObject({ code: 'AA', controlId });
    const msh = text.split('\r')[0].split('|');
    expect(msh.slice(2, 6)).toEqual(['TESSERA', 'TESSERA-HIE', 'EPIC', 'STAURELIA']);
    expect(msh[8]).toBe('ACK^A04^ACK');
    const published = await watcher.waitFor((r) => (r.value ?? '').includes(`"controlId":"${controlId}"`));
    expect(published[0].key).toBe(`st-aurelia|M-${run}-1`);
    expect(published[0].headers['ce_type']).toBe('org.tessera.hl7v2.received');
    expect(published[0].headers['traceparent']).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
  });

  it('ACKs a resend with the original outcome and publishes it only once', async () => {
    const controlId = `DUP-${run}`;
    const message = adt(controlId, `M-${run}-2`);
    const [first] = await mllpExchange(mllpPort, [message]);
    const [second] = await mllpExchange(mllpPort, [message]);
    expect(msaOf(first).code).toBe('AA');
    expect(msaOf(second).code).toBe('AA');
    const records = await watcher.waitFor((r) => (r.value ?? '').includes(`"controlId":"${controlId}"`), 1, {
      settleMs: 2_000,
    });
    expect(records).toHaveLength(1);
    const rows = await ledger('STAURELIA', controlId);
    expect(rows).toHaveLength(1);
    expect(rows[0].resend_count).toBe(1);
  });

  it('flags a reused MSH-10 with different content, and keeps both', async () => {
    const controlId = `REUSE-${run}`;
    await mllpExchange(mllpPort, [adt(controlId, `M-${run}-3`)]);
    const [ack] = await mllpExchange(mllpPort, [adt(controlId, `M-${run}-3`, 'STAURELIA', 'Changed')]);
    expect(msaOf(ack).code).toBe('AA');
    const rows = await ledger('STAURELIA', controlId);
    expect(rows.map((r) => r.duplicate_control_id)).toEqual([false, true]);
  });

  it('rejects an unknown sending facility with AR and an ERR at MSH-4, and keeps the message', async () => {
    const controlId = `UNK-${run}`;
    const [ack] = await mllpExchange(mllpPort, [adt(controlId, `M-${run}-4`, 'NOT-REGISTERED')]);
    const { code, text } = msaOf(ack);
    expect(code).toBe('AR');
    expect(text).toMatch(/\rERR\|\|MSH\^1\^4\^1\|204\^Unknown key identifier\^HL70357\|E\|/);
    expect(await ledger('NOT-REGISTERED', controlId)).toMatchObject([{ state: 'rejected', ack_code: 'AR' }]);
  });

  it('answers AE 101 at PID-3 for an ADT without a patient identifier, without echoing patient data', async () => {
    const controlId = `NOPID-${run}`;
    const message = adt(controlId, '').replace(`PID|1||^^^STA^MR`, 'PID|1||^^^STA^MR');
    const [ack] = await mllpExchange(mllpPort, [message]);
    const { code, text } = msaOf(ack);
    expect(code).toBe('AE');
    expect(text).toContain('ERR||PID^1^3^1|101^Required field missing^HL70357|E|');
    expect(text).not.toContain('Testperson');
    expect(await ledger('STAURELIA', controlId)).toMatchObject([{ state: 'rejected', ack_code: 'AE' }]);
  });

  it('answers AR 200 for a message type the exchange does not take', async () => {
    const controlId = `SIU-${run}`;
    const message = adt(controlId, `M-${run}-5`).replace('ADT^A04^ADT_A01', 'SIU^S12^SIU_S12');
    const [ack] = await mllpExchange(mllpPort, [message]);
    expect(msaOf(ack).code).toBe('AR');
    expect(msaOf(ack).text).toContain('200^Unsupported message type^HL70357');
  });

  it('keeps a message that cannot be parsed, with its error, and answers AE', async () => {
    const controlId = `BAD-${run}`;
    const broken = `MSH|^~\\&|EPIC|STAURELIA|TESSERA|HIE|20260101120000||ADT^A04|${controlId}|P|2.5.1\rthis is not a segment`;
    const [ack] = await mllpExchange(mllpPort, [broken]);
    const { code, controlId: echoed, text } = msaOf(ack);
    expect(code).toBe('AE');
    expect(echoed).toBe(controlId);
    expect(text).toContain('ERR|');
    const rows = await db.query<{ state: string; state_detail: string; raw: Buffer }>(
      `SELECT state, state_detail, raw FROM ledger_messages WHERE control_id = $1`,
      [controlId],
    );
    expect(rows.rows[0]).toMatchObject({ state: 'unparseable' });
    expect(rows.rows[0].state_detail).toMatch(/segment 2/i);
    expect(rows.rows[0].raw.toString('utf8')).toBe(broken);
  });

  it('decodes GB 18030 by MSH-18, publishes the Hanzi name exactly, and ACKs in GB 18030', async () => {
    const controlId = `GB-${run}`;
    const text = [
      `MSH|^~\\&|HIS|DHPH|TESSERA|HIE|20260101120000||ADT^A04^ADT_A01|${controlId}|P|2.5.1|||||CHN|GB 18030-2000`,
      'EVN|A04|20260101120000',
      `PID|1||G-${run}^^^DHPH^MR||王^秀英~Wang^Xiuying||19750312|F`,
      'PV1|1|O',
    ].join('\r');
    const [ack] = await mllpExchange(mllpPort, [iconv.encode(text, 'gb18030')]);
    expect(msaOf(iconv.decode(ack, 'gb18030')).code).toBe('AA');
    const [record] = await watcher.waitFor((r) => (r.value ?? '').includes(`"controlId":"${controlId}"`));
    const data = JSON.parse(record.value!) as { message: string; charset: string };
    expect(data.charset).toBe('GB 18030-2000');
    expect(data.message).toContain('王^秀英~Wang^Xiuying');
  });

  it('rejects a frame larger than the maximum with AR, and the connection keeps working', async () => {
    const oversized = adt(`BIG-${run}`, `M-${run}-6`) + '\rNTE|1||' + 'x'.repeat(17 * 1024 * 1024);
    const next = `OK-${run}`;
    const acks = await mllpExchange(
      mllpPort,
      [
        Buffer.concat([
          encodeMllpFrame(Buffer.from(oversized)),
          encodeMllpFrame(Buffer.from(adt(next, `M-${run}-7`))),
        ]),
      ],
      { raw: true, expectAcks: 2, timeoutMs: 60_000 },
    );
    expect(msaOf(acks[0])).toMatchObject({ code: 'AR', controlId: `BIG-${run}` });
    expect(msaOf(acks[1])).toMatchObject({ code: 'AA', controlId: next });
  });

  it('serves hundreds of concurrent connections, each getting its own ACK', async () => {
    const connections = 300;
    const acks = await Promise.all(
      Array.from({ length: connections }, (_, i) =>
        mllpExchange(mllpPort, [adt(`C${i}-${run}`, `M-${run}-c${i}`)], { timeoutMs: 60_000 }),
      ),
    );
    expect(acks.map(([ack]) => msaOf(ack).controlId)).toEqual(
      Array.from({ length: connections }, (_, i) => `C${i}-${run}`),
    );
    expect(acks.every(([ack]) => msaOf(ack).code === 'AA')).toBe(true);
  });

  it('ingests an HL7 batch file (FHS/BHS) uploaded over HTTP through the same path, with a result per message', async () => {
    const ids = [`B1-${run}`, `B2-${run}`, `B3-${run}`];
    const file = [
      'FHS|^~\\&|EPIC|STAURELIA',
      'BHS|^~\\&|EPIC|STAURELIA',
      adt(ids[0], `M-${run}-b1`),
      adt(ids[1], '').replace('PID|1||^^^STA^MR', 'PID|1||^^^STA^MR'),
      adt(ids[2], `M-${run}-b3`),
      'BTS|3',
      'FTS|1',
    ].join('\r');
    const tokenOf = (institutionId: string) =>
      issuer.mint({ kind: 'institution', clientId: `${institutionId}-client`, institutionId, scopes: ['system/Bundle.write'] });
    const token = await tokenOf('st-aurelia');
    const post = async (bearer: string | null = token, body = file) =>
      fetch(`${gateway.url}/hl7/batch`, {
        method: 'POST',
        headers: {
          'content-type': 'x-application/hl7-v2+er7',
          ...(bearer === null ? {} : { authorization: `Bearer ${bearer}` }),
        },
        body,
      });
    expect((await post(null)).status).toBe(401);
    // Another institution's token cannot upload St Aurelia's messages: each is refused AR 204.
    const foreignFile = [adt(`F1-${run}`, `M-${run}-f1`), adt(`F2-${run}`, `M-${run}-f2`)].join('\r');
    const foreign = (await (await post(await tokenOf('riverside'), foreignFile)).json()) as {
      accepted: number;
      results: Array<{ ackCode: string }>;
    };
    expect(foreign.accepted).toBe(0);
    expect(foreign.results.map((r) => r.ackCode)).toEqual(['AR', 'AR']);
    const response = await post();
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      messages: number;
      accepted: number;
      warnings: string[];
      results: Array<{ controlId: string; ackCode: string; duplicate: boolean; errors: string[] }>;
    };
    expect(body).toMatchObject({ messages: 3, accepted: 2, warnings: [] });
    expect(body.results.map((r) => [r.controlId, r.ackCode])).toEqual([
      [ids[0], 'AA'],
      [ids[1], 'AE'],
      [ids[2], 'AA'],
    ]);
    expect(body.results[1].errors[0]).toContain('PID-3');
    // Marking `published` happens after the answer (bookkeeping off the ACK path).
    await waitFor(
      'the first message marked published',
      () => ledger('STAURELIA', ids[0]),
      (rows) => rows.length === 1 && ['published', 'mapped'].includes(rows[0].state),
    );

    const again = (await (await post()).json()) as typeof body;
    expect(again.results.map((r) => [r.ackCode, r.duplicate])).toEqual([
      ['AA', true],
      ['AE', true],
      ['AA', true],
    ]);
    const unsupported = await fetch(`${gateway.url}/hl7/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: '{}',
    });
    expect(unsupported.status).toBe(415);
  });

  it('answers several pipelined messages on one connection in order', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `P${i}-${run}`);
    const acks = await mllpExchange(
      mllpPort,
      ids.map((id, i) => adt(id, `M-${run}-p${i}`)),
    );
    expect(acks.map((a) => msaOf(a).controlId)).toEqual(ids);
    expect(acks.every((a) => msaOf(a).code === 'AA')).toBe(true);
  });
});
