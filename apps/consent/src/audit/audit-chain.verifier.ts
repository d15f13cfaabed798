import { Client } from 'pg';
import { loadPlatformSettings } from '@tessera/platform-service';
import type { ServiceOptions } from '@tessera/platform-service';
import { canonicalJson, chainHash, GENESIS_HASH } from './audit-chain';

/** The part of a pg client the verifier uses. */
export interface Queryable {
  query<R extends object>(sql: string, params?: unknown[]): Promise<{ rows: R[] }>;
}

export type ChainVerdict =
  | { readonly ok: true; readonly count: number; readonly head: string }
  | {
      readonly ok: false;
      readonly count: number;
      readonly seq: string;
      readonly eventId: string;
      readonly reason: string;
    };

interface StoredRow {
  seq: string;
  event_id: string;
  recorded_at: Date;
  type: string;
  subtype: string;
  action: string;
  outcome: string;
  client_id: string | null;
  institution_id: string | null;
  purpose: string | null;
  break_glass: boolean;
  patients: string[];
  entities: unknown;
  record: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

export interface VerifyOptions {
  /** Rows fetched per query (keyset pages in seq order). */
  readonly batchSize?: number;
  /** Called with the number of rows checked every `progressEvery` rows. */
  readonly onProgress?: (checked: number) => void;
  readonly progressEvery?: number;
}

/**
 * Walks audit_events in seq order and checks every link: each row's prev_hash is its predecessor's
 * hash (the first row's is 64 zeros), its hash is sha256(prev_hash ‖ canonical {seq, event_id,
 * record}), and its search columns are copies of its record. Stops at the first broken row.
 * Run it inside a REPEATABLE READ transaction for one consistent snapshot (appends commit in chain
 * order under the chain lock, so any snapshot holds a prefix of the chain).
 */
export async function verifyAuditChain(db: Queryable, options: VerifyOptions = {}): Promise<ChainVerdict> {
  const batchSize = options.batchSize ?? 5_000;
  const progressEvery = options.progressEvery ?? 100_000;
  let expectedPrev = GENESIS_HASH;
  let previousSeq: string | null = null;
  let lastSeq = '0';
  let count = 0;
  for (;;) {
    const { rows } = await db.query<StoredRow>(
      `SELECT seq, event_id, recorded_at, type, subtype, action, outcome, client_id, institution_id, purpose,
              break_glass, patients, entities, record, prev_hash, hash
       FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2`,
      [lastSeq, batchSize],
    );
    for (const row of rows) {
      const broken = (reason: string): ChainVerdict => ({
        ok: false,
        count,
        seq: row.seq,
        eventId: row.event_id,
        reason,
      });
      if (row.prev_hash !== expectedPrev) {
        return broken(
          previousSeq === null
            ? 'the first record does not start from the genesis hash (records before it were removed?)'
            : `prev_hash does not link to the record before it (seq ${previousSeq}): a record was removed, inserted or changed`,
        );
      }
      let hash: string;
      try {
        hash = chainHash(row.prev_hash, { seq: Number(row.seq), eventId: row.event_id, record: row.record });
      } catch {
        return broken('the record is not plain JSON data');
      }
      if (hash !== row.hash)
        return broken('hash does not match the record (the record, its seq or its event id was changed)');
      const column = mismatchedColumn(row);
      if (column !== undefined) return broken(`column ${column} does not match the record`);
      expectedPrev = row.hash;
      previousSeq = row.seq;
      count += 1;
      if (count % progressEvery === 0) options.onProgress?.(count);
    }
    if (rows.length < batchSize) break;
    lastSeq = rows[rows.length - 1]?.seq ?? lastSeq;
  }
  return { ok: true, count, head: expectedPrev };
}

/** The first search column that is not a copy of the record (they are not covered by the hash). */
function mismatchedColumn(row: StoredRow): string | undefined {
  const r = row.record as {
    recordedAt?: unknown;
    type?: unknown;
    subtype?: unknown;
    action?: unknown;
    outcome?: unknown;
    agent?: { clientId?: unknown; institutionId?: unknown };
    purposeOfUse?: unknown;
    breakGlass?: unknown;
    patients?: unknown;
    entities?: unknown;
  };
  const expected: Record<string, unknown> = {
    type: r.type,
    subtype: r.subtype,
    action: r.action,
    outcome: r.outcome,
    client_id: r.agent?.clientId ?? null,
    institution_id: r.agent?.institutionId ?? null,
    purpose: r.purposeOfUse ?? null,
    break_glass: r.breakGlass ?? false,
    patients: r.patients ?? [],
    entities: r.entities ?? [],
  };
  for (const [name, value] of Object.entries(expected)) {
    if (canonicalJson(row[name as keyof StoredRow]) !== canonicalJson(value)) return name;
  }
  // Millisecond precision on both sides (Date.parse and node-pg both truncate microseconds).
  if (typeof r.recordedAt !== 'string' || Date.parse(r.recordedAt) !== row.recorded_at.getTime())
    return 'recorded_at';
  return undefined;
}

export interface CommandIo {
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
}

const processIo: CommandIo = {
  stdout: (line) => process.stdout.write(`${line}\n`),
  stderr: (line) => process.stderr.write(`${line}\n`),
};

/**
 * `node dist/apps/consent/src/main.js audit-verify`: verifies the chain in the consent database
 * (DB_NAME, PG* settings). Exit code 0 when intact, 1 when broken, 2 when it could not run.
 */
export async function runAuditVerify(service: ServiceOptions, io: CommandIo = processIo): Promise<number> {
  let client: Client | undefined;
  try {
    const settings = loadPlatformSettings(service);
    client = new Client({
      host: settings.postgres.PGHOST,
      port: settings.postgres.PGPORT,
      user: settings.postgres.PGUSER,
      password: settings.postgres.PGPASSWORD,
      database: settings.service.DB_NAME,
      application_name: `${service.name}-audit-verify`,
    });
    await client.connect();
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const started = Date.now();
    const verdict = await verifyAuditChain(client, {
      onProgress: (n) =>
        io.stderr(`audit-verify: ${n} records checked (${((Date.now() - started) / 1000).toFixed(1)} s)`),
    });
    await client.query('COMMIT');
    if (verdict.ok) {
      io.stdout(`audit chain OK: ${verdict.count} records, head ${verdict.head}`);
      return 0;
    }
    io.stdout(`audit chain BROKEN at seq ${verdict.seq} (event ${verdict.eventId}): ${verdict.reason}`);
    return 1;
  } catch (error) {
    io.stderr(`audit-verify: could not verify the audit chain: ${(error as Error).message}`);
    return 2;
  } finally {
    await client?.end().catch(() => undefined);
  }
}
