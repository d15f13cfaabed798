// The migration that scopes the ledger's duplicate key to the sending institution, against real
// Postgres: a row refused for its sender before the migration stops standing in for the real message.
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { migrate } from '@tessera/platform-persistence';
import { dropTestDatabase, testClientConfig, testPostgresSettings, uniqueTestId } from '@tessera/testing';
import { migrations } from './index';

const DATABASE = `tessera_gateway_test_${uniqueTestId('dm')}`;
const SHA = 'a'.repeat(64);
let db: Client;

/** Inserts a ledger row the way the ingest path does; resolves with the row id, or undefined on a repeat. */
async function insert(row: {
  institutionId: string | null;
  controlId: string;
  state: string;
  ackErrors?: unknown[];
}): Promise<string | undefined> {
  const result = await db.query<{ id: string }>(
    `INSERT INTO ledger_messages (id, received_at, institution_id, sending_facility, control_id, content_sha256,
       size_bytes, raw, state, ack_errors)
     VALUES ($1, now(), $2, 'HOSPA', $3, $4, 3, '\\x414243', $5, $6::jsonb)
     ON CONFLICT (institution_id, sending_facility, control_id, content_sha256) WHERE NOT sender_refused
       DO NOTHING
     RETURNING id`,
    [randomUUID(), row.institutionId, row.controlId, SHA, row.state, JSON.stringify(row.ackErrors ?? [])],
  );
  return result.rows[0]?.id;
}

beforeAll(async () => {
  // The schema as it was before the migration, holding a message refused for its sender: someone on
  // the shared port claimed HOSPA, whose institution authenticates on its own port.
  await migrate({
    settings: testPostgresSettings(),
    database: DATABASE,
    migrations: migrations.slice(0, -1),
  });
  db = new Client(testClientConfig(DATABASE));
  await db.connect();
  await db.query(
    `INSERT INTO ledger_messages (id, received_at, institution_id, sending_facility, control_id, content_sha256,
       size_bytes, raw, state, ack_code, ack_errors)
     VALUES ($1, now(), 'hospa', 'HOSPA', 'M1', $2, 3, '\\x414243', 'rejected', 'AR', $3::jsonb)`,
    [
      randomUUID(),
      SHA,
      JSON.stringify([
        {
          severity: 'E',
          code: 204,
          location: { segment: 'MSH', sequence: 1, field: 4 },
          diagnostic: 'sending facility not authorized for this sender',
          userMessage: 'Institution "hospa" proves who sends its feed on its own port; …',
        },
      ]),
    ],
  );
  await db.query(
    `INSERT INTO ledger_messages (id, received_at, institution_id, sending_facility, control_id, content_sha256,
       size_bytes, raw, state, ack_code)
     VALUES ($1, now(), 'hospa', 'HOSPA', 'M2', $2, 3, '\\x414243', 'rejected', 'AR')`,
    [randomUUID(), SHA],
  );
  await migrate({ settings: testPostgresSettings(), database: DATABASE, migrations });
});

afterAll(async () => {
  await db?.end();
  await dropTestDatabase(testPostgresSettings(), DATABASE);
});

it('marks the rows refused for their sender, so the real message is stored as new', async () => {
  const marked = await db.query<{ control_id: string; sender_refused: boolean }>(
    `SELECT control_id, sender_refused FROM ledger_messages ORDER BY control_id`,
  );
  expect(marked.rows).toEqual([
    { control_id: 'M1', sender_refused: true },
    { control_id: 'M2', sender_refused: false },
  ]);
  expect(await insert({ institutionId: 'hospa', controlId: 'M1', state: 'received' })).toBeDefined();
  // A row rejected for its content is still the original of the same institution's resend.
  expect(await insert({ institutionId: 'hospa', controlId: 'M2', state: 'received' })).toBeUndefined();
});

it('keys repeats by institution, and messages of no registered institution still repeat one another', async () => {
  expect(await insert({ institutionId: 'hospa', controlId: 'M3', state: 'received' })).toBeDefined();
  expect(await insert({ institutionId: 'hospa', controlId: 'M3', state: 'received' })).toBeUndefined();
  expect(await insert({ institutionId: 'other', controlId: 'M3', state: 'rejected' })).toBeDefined();
  expect(await insert({ institutionId: null, controlId: 'M3', state: 'rejected' })).toBeDefined();
  expect(await insert({ institutionId: null, controlId: 'M3', state: 'rejected' })).toBeUndefined();
});
