import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import { DocumentPublished, EncounterUpserted } from '@tessera/contracts';
import { kafkaConfig, loadConfig, postgresConfig } from '@tessera/platform-config';
import { EventProducer } from '@tessera/platform-kafka';
import { Kafka, logLevel } from 'kafkajs';
import { percentile, table } from '../../tools/report/text-report';
import { machineInfo } from '../gateway/gateway.bench';
import { freePort, intArg, runOpenLoopSearches, startBenchProcess } from '../bench-support';
import type { BenchProcess, SearchRunResult } from '../bench-support';
import { encodeVisibility } from '@tessera/consent-policy';
import { startBenchIssuer } from './bench-issuer';
import {
  enterpriseIdOf,
  PERSON_OF_ITEM_SQL,
  RECORDS_OF_PERSON_SQL,
  recordsOfPerson,
  sourceRecordOf,
} from './registry-data';

/*
 * Document-registry benchmark: `npm run bench -- registry [options]`.
 *
 *   --patients 1000000   persons (1–3 source records each, 4 institutions)
 *   --items 5000000      documents + encounters (half each), skewed over persons (registry-data.ts)
 *   --reload             reload even when the bench database already holds these sizes
 *   --rate 100           offered requests/s per query type
 *   --duration 20        seconds per query type (at most 300)
 *   --seed 1             patient picks
 *   --events 50000       indexing phase: EncounterUpserted + DocumentPublished events (0 skips it)
 *
 * Database `tessera_registry_bench` (migrated by the compiled service's `migrate` command), loaded
 * server-side with generate_series. Queries go to the compiled registry module in its own process
 * (registry-server.main.ts: consumer group `document-registry-bench`, so no real registry is
 * disturbed). Indexing: the events go to the real topics with the real EventProducer; the bench
 * server's consumer indexes them (inbox + handlers + Postgres, one transaction per event) and the
 * bench counts their rows until all are there.
 */

const DB_NAME = 'tessera_registry_bench';
const ROOT = path.resolve(__dirname, '../../..');
const MAX_DURATION_S = 300;

export interface RegistryBenchOptions {
  readonly patients: number;
  readonly items: number;
  readonly reload: boolean;
  readonly rate: number;
  readonly durationS: number;
  readonly seed: number;
  readonly events: number;
  readonly argv: readonly string[];
}

export function parseRegistryBenchArgs(argv: readonly string[]): RegistryBenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      patients: { type: 'string' },
      items: { type: 'string' },
      reload: { type: 'boolean', default: false },
      rate: { type: 'string' },
      duration: { type: 'string' },
      seed: { type: 'string' },
      events: { type: 'string' },
    },
  });
  return {
    patients: intArg(values.patients, 'patients', 1_000_000, 1, 100_000_000),
    items: intArg(values.items, 'items', 5_000_000, 0, 500_000_000),
    reload: values.reload,
    rate: intArg(values.rate, 'rate', 100, 1, 10_000),
    durationS: intArg(values.duration, 'duration', 20, 1, MAX_DURATION_S),
    seed: intArg(values.seed, 'seed', 1, 0, 2 ** 31 - 1),
    events: intArg(values.events, 'events', 50_000, 0, 1_000_000),
    argv,
  };
}

/** mulberry32: a small seeded PRNG in [0, 1), so patient picks are reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ------------------------------------------------------------------------------------------------
// Loading

const PERSON_BATCH = 100_000;
const ITEM_BATCH = 200_000;

async function migrate(): Promise<void> {
  execFileSync('node', [path.join(ROOT, 'dist/apps/document-registry/src/main.js'), 'migrate'], {
    cwd: ROOT,
    env: { ...process.env, DB_NAME, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

async function loadedSizes(db: Client): Promise<{ patients: number; items: number } | undefined> {
  await db.query('CREATE TABLE IF NOT EXISTS bench_meta (patients bigint NOT NULL, items bigint NOT NULL)');
  const rows = (await db.query<{ patients: string; items: string }>('SELECT patients, items FROM bench_meta'))
    .rows;
  return rows[0] === undefined
    ? undefined
    : { patients: Number(rows[0].patients), items: Number(rows[0].items) };
}

function progress(label: string, done: number, total: number, startedMs: number): void {
  const s = (Date.now() - startedMs) / 1000;
  process.stdout.write(
    `\r  ${label}: ${done.toLocaleString('en')} / ${total.toLocaleString('en')} (${Math.round(done / s).toLocaleString('en')} rows/s)   `,
  );
}

const linkSql = `
  INSERT INTO patient_links (patient_system, local_patient_id, enterprise_id, state, origin, score, rule_set_version, decided_at, event_id)
  SELECT 'urn:tessera:bench:inst-' || ((p + r) % 4) || ':mrn', 'P' || p || '-' || r, 'EB' || p,
         'MATCH', 'AUTO', 1.0, 'bench', timestamptz '2024-01-01', 'bench-link-' || p || '-' || r
  FROM generate_series($1::bigint, $2::bigint) p, LATERAL generate_series(0, ${RECORDS_OF_PERSON_SQL('p')} - 1) r`;

/** Items [lo, hi]: who owns each (skewed), which of the owner's records, when. */
const itemsCte = (patients: number, parity: 0 | 1): string => `
  WITH g AS (SELECT i, ${PERSON_OF_ITEM_SQL('i', patients)} AS p FROM generate_series($1::bigint, $2::bigint) i WHERE i % 2 = ${parity}),
  s AS (SELECT i, p, (i / 2) % ${RECORDS_OF_PERSON_SQL('p')} AS r,
               timestamptz '2019-01-01' + ((i * 7919) % 189216000) * interval '1 second' AS at FROM g)`;

const encounterSql = (patients: number): string => `${itemsCte(patients, 1)}
  INSERT INTO encounters (id, institution_id, patient_system, local_patient_id, status, is_current, type_tokens,
    facility_tokens, effective_at, effective_end, source_message_id, mapper_version, channel, event_id, resource, class_code)
  SELECT 'benc-' || i, 'inst-' || ((p + r) % 4), 'urn:tessera:bench:inst-' || ((p + r) % 4) || ':mrn', 'P' || p || '-' || r,
    'finished', true, ARRAY['http://snomed.info/sct|185349003'], ARRAY['urn:tessera:bench:facility|F' || ((p + r) % 4)],
    at, at + interval '30 minutes', 'bench-msg-' || i, 'bench', 'bench', 'bench-evt-' || i,
    jsonb_build_object('resourceType', 'Encounter', 'id', 'benc-' || i, 'status', 'finished',
      'class', jsonb_build_object('system', 'http://terminology.hl7.org/CodeSystem/v3-ActCode', 'code', CASE WHEN i % 10 = 1 THEN 'IMP' ELSE 'AMB' END),
      'subject', jsonb_build_object('reference', 'Patient/P' || p || '-' || r),
      'period', jsonb_build_object('start', at, 'end', at + interval '30 minutes')),
    CASE WHEN i % 10 = 1 THEN 'IMP' ELSE 'AMB' END
  FROM s`;

const documentSql = (patients: number): string => `${itemsCte(patients, 0)}
  INSERT INTO documents (id, institution_id, patient_system, local_patient_id, status, is_current, type_tokens, category_tokens,
    facility_tokens, effective_at, encounter_id, source_message_id, mapper_version, channel, event_id, resource,
    content_sha256, content_size, content_type)
  SELECT 'bdoc-' || i, 'inst-' || ((p + r) % 4), 'urn:tessera:bench:inst-' || ((p + r) % 4) || ':mrn', 'P' || p || '-' || r,
    'current', true, ARRAY['http://loinc.org|11506-3'], ARRAY['http://loinc.org|47039-3'],
    ARRAY['urn:tessera:bench:facility|F' || ((p + r) % 4)], at, 'benc-' || (i + 1), 'bench-msg-' || i, 'bench', 'bench',
    'bench-evt-' || i,
    jsonb_build_object('resourceType', 'DocumentReference', 'id', 'bdoc-' || i, 'status', 'current',
      'type', jsonb_build_object('coding', jsonb_build_array(jsonb_build_object('system', 'http://loinc.org', 'code', '11506-3'))),
      'subject', jsonb_build_object('reference', 'Patient/P' || p || '-' || r), 'date', at,
      'content', jsonb_build_array(jsonb_build_object('attachment', jsonb_build_object('contentType', 'text/plain', 'size', 64)))),
    md5(i::text) || md5((i + 1)::text), 64, 'text/plain'
  FROM s`;

async function load(db: Client, options: RegistryBenchOptions): Promise<string> {
  await db.query('TRUNCATE patient_links, documents, encounters, seen_via, resource_history, bench_meta');
  const started = Date.now();
  for (let lo = 0; lo < options.patients; lo += PERSON_BATCH) {
    const hi = Math.min(options.patients, lo + PERSON_BATCH) - 1;
    await db.query(linkSql, [lo, hi]);
    progress('persons', hi + 1, options.patients, started);
  }
  process.stdout.write('\n');
  const itemsStarted = Date.now();
  for (let lo = 0; lo < options.items; lo += ITEM_BATCH) {
    const hi = Math.min(options.items, lo + ITEM_BATCH) - 1;
    await db.query(encounterSql(options.patients), [lo, hi]);
    await db.query(documentSql(options.patients), [lo, hi]);
    progress('items', hi + 1, options.items, itemsStarted);
  }
  process.stdout.write('\n');
  await db.query('INSERT INTO bench_meta (patients, items) VALUES ($1, $2)', [
    options.patients,
    options.items,
  ]);
  const s = (Date.now() - started) / 1000;
  return `loaded ${options.patients.toLocaleString('en')} persons and ${options.items.toLocaleString('en')} items in ${s.toFixed(0)} s`;
}

// ------------------------------------------------------------------------------------------------
// Queries at a fixed offered rate

export type QueryResult = SearchRunResult;

function runQueries(
  label: string,
  rate: number,
  durationMs: number,
  requestFor: (n: number) => { readonly path: string; readonly headers: Record<string, string> },
  baseUrl: string,
): Promise<QueryResult> {
  return runOpenLoopSearches(label, rate, durationMs, (n) => {
    const { path: requestPath, headers } = requestFor(n);
    return { url: `${baseUrl}${requestPath}`, headers };
  });
}

async function startRegistry(authEnv: Readonly<Record<string, string>>): Promise<BenchProcess> {
  const port = await freePort();
  return startBenchProcess(
    'the registry',
    [path.join(ROOT, 'dist/bench/registry/registry-server.main.js'), String(port)],
    { ...authEnv, DB_NAME },
    port,
    ROOT,
  );
}

// ------------------------------------------------------------------------------------------------
// Indexing through the consumer path

export interface IndexingResult {
  readonly events: number;
  readonly publishS: number;
  readonly firstToLastS: number;
  readonly endToEndS: number;
  readonly indexed: number;
}

const silent = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  debug: () => undefined,
};

async function runIndexing(
  db: Client,
  options: RegistryBenchOptions,
  random: () => number,
): Promise<IndexingResult> {
  const run = Date.now().toString(36);
  const { KAFKA_BROKERS } = loadConfig(kafkaConfig);
  const producer = new EventProducer(
    new Kafka({ clientId: 'registry-bench', brokers: [...KAFKA_BROKERS], logLevel: logLevel.NOTHING }),
    { logger: silent },
  );
  await producer.connect();
  const provenance = (n: number) => {
    const p = Math.floor(random() * options.patients);
    const record = sourceRecordOf(p, n % recordsOfPerson(p));
    return {
      key: `${record.system}|${record.value}`,
      data: {
        institutionId: `inst-${record.system.split(':')[3]}`,
        patientSystem: record.system,
        localPatientId: record.value,
        sourceMessageId: `bix${run}m${n}`,
        mapperVersion: 'bench',
        channel: 'hl7v2' as const,
      },
    };
  };
  const started = performance.now();
  const half = Math.ceil(options.events / 2);
  const BATCH = 500;
  for (let lo = 0; lo < half; lo += BATCH) {
    const ns = Array.from({ length: Math.min(BATCH, half - lo) }, (_, k) => lo + k);
    await producer.publishBatch(
      EncounterUpserted,
      ns.map((n) => {
        const { key, data } = provenance(n);
        return {
          key,
          source: '/tessera/bench',
          data: {
            ...data,
            encounter: {
              resourceType: 'Encounter' as const,
              id: `bix${run}e${n}`,
              status: 'finished' as const,
              class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
              period: { start: '2024-05-01T08:00:00+08:00' },
            },
          },
        };
      }),
    );
    const docs = ns.filter((n) => n < options.events - half);
    await producer.publishBatch(
      DocumentPublished,
      docs.map((n) => {
        const { key, data } = provenance(n);
        const bytes = Buffer.from(`Synthetic bench note ${run} ${n}`, 'utf8');
        return {
          key,
          source: '/tessera/bench',
          data: {
            ...data,
            document: {
              resourceType: 'DocumentReference' as const,
              id: `bix${run}d${n}`,
              status: 'current' as const,
              type: { coding: [{ system: 'http://loinc.org', code: '11506-3' }] },
              date: '2024-05-01T16:00:00+08:00',
              content: [{ attachment: { contentType: 'text/plain', size: bytes.length } }],
              context: { encounter: [{ reference: `Encounter/bix${run}e${n}` }] },
            },
            content: {
              contentType: 'text/plain',
              sha256: createHash('sha256').update(bytes).digest('hex'),
              size: bytes.length,
              base64: bytes.toString('base64'),
            },
          },
        };
      }),
    );
  }
  const publishS = (performance.now() - started) / 1000;
  await producer.disconnect();
  const count = async (): Promise<number> => {
    const { rows } = await db.query<{ n: string }>(
      `SELECT (SELECT count(*) FROM encounters WHERE id >= $1 AND id < $2)
            + (SELECT count(*) FROM documents WHERE id >= $3 AND id < $4) AS n`,
      [`bix${run}e`, `bix${run}f`, `bix${run}d`, `bix${run}e`],
    );
    return Number(rows[0]?.n ?? 0);
  };
  let first: number | undefined;
  let indexed = 0;
  let lastChange = performance.now();
  for (;;) {
    const n = await count();
    const now = performance.now();
    if (n > 0 && first === undefined) first = now;
    if (n !== indexed) lastChange = now;
    indexed = n;
    progress('indexed', n, options.events, Date.now() - (now - started));
    if (n >= options.events || now - lastChange > 60_000) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  process.stdout.write('\n');
  const end = performance.now();
  return {
    events: options.events,
    publishS,
    firstToLastS: (end - (first ?? end)) / 1000,
    endToEndS: (end - started) / 1000,
    indexed,
  };
}

export function formatIndexingReport(r: IndexingResult): string {
  const rate = (s: number): string => (s > 0 ? Math.round(r.indexed / s).toLocaleString('en') : '-');
  return table(
    [
      'indexing',
      'events',
      'indexed',
      'published in s',
      'indexed events/s (first → last row)',
      'end-to-end events/s',
    ],
    [
      [
        'Encounter + DocumentReference',
        String(r.events),
        String(r.indexed),
        r.publishS.toFixed(1),
        rate(r.firstToLastS),
        rate(r.endToEndS),
      ],
    ],
  );
}

const f1 = (v: number): string => (Number.isNaN(v) ? '-' : v.toFixed(1));

export function formatQueryReport(results: readonly QueryResult[], rate: number): string {
  return table(
    ['query', 'offered', 'sent', 'errors', 'items/answer', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms'],
    results.map((r) => [
      r.label,
      `${rate}/s`,
      String(r.sent),
      String(r.errors),
      f1(r.meanItems),
      f1(percentile(r.latencies, 50)),
      f1(percentile(r.latencies, 95)),
      f1(percentile(r.latencies, 99)),
      f1(r.latencies.at(-1) ?? Number.NaN),
    ]),
  );
}

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  let options: RegistryBenchOptions;
  try {
    options = parseRegistryBenchArgs(argv);
  } catch (error) {
    console.error(`bench registry: ${(error as Error).message}`);
    return 2;
  }
  const machine = machineInfo();
  console.log(
    `Tessera document-registry benchmark: ${options.patients.toLocaleString('en')} persons, ${options.items.toLocaleString('en')} items, database ${DB_NAME}`,
  );
  console.log(
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB.toFixed(1)} GiB RAM, ${machine.os}, Node ${machine.node}`,
  );
  await migrate();
  const pg = loadConfig(postgresConfig);
  const db = new Client({
    host: pg.PGHOST,
    port: pg.PGPORT,
    user: pg.PGUSER,
    password: pg.PGPASSWORD,
    database: DB_NAME,
  });
  await db.connect();
  try {
    const sizes = await loadedSizes(db);
    if (!options.reload && sizes?.patients === options.patients && sizes.items === options.items) {
      console.log('data already loaded (pass --reload to load again)');
    } else {
      console.log(await load(db, options));
    }
    await db.query('ANALYZE patient_links, documents, encounters');
  } catch (error) {
    await db.end();
    throw error;
  }

  // The registry serves only the exchange: a service token and, per query, the exchange's decision
  // (others' items visible except the region's sensitive labels, as for a treating institution).
  const issuer = await startBenchIssuer();
  const server = await startRegistry(issuer.env);
  try {
    const random = seededRandom(options.seed);
    const person = (): number => Math.floor(random() * options.patients);
    const durationMs = options.durationS * 1000;
    const token = await issuer.serviceToken(2 * MAX_DURATION_S + 600);
    const asExchange = (p: number, requestPath: string) => ({
      path: requestPath,
      headers: {
        authorization: `Bearer ${token}`,
        'x-tessera-visibility': encodeVisibility({
          enterpriseId: enterpriseIdOf(p),
          ownInstitution: 'inst-0',
          others: 'all',
          deniedLabels: ['ETH', 'HIV', 'PSY', 'SDV', 'SEX', 'SUD'],
        }),
      },
    });
    const results: QueryResult[] = [];
    process.stdout.write('running DocumentReference?patient= …');
    results.push(
      await runQueries(
        'DocumentReference?patient= (E id | system|value)',
        options.rate,
        durationMs,
        (n) => {
          const p = person();
          if (n % 2 === 0) return asExchange(p, `/DocumentReference?patient=${enterpriseIdOf(p)}`);
          const record = sourceRecordOf(p, n % recordsOfPerson(p));
          return asExchange(
            p,
            `/DocumentReference?patient=${encodeURIComponent(`${record.system}|${record.value}`)}`,
          );
        },
        server.url,
      ),
    );
    process.stdout.write(' done\nrunning Patient/:id/$timeline …');
    results.push(
      await runQueries(
        'Patient/:id/$timeline',
        options.rate,
        durationMs,
        () => {
          const p = person();
          return asExchange(p, `/Patient/${enterpriseIdOf(p)}/$timeline`);
        },
        server.url,
      ),
    );
    process.stdout.write(' done\n');
    const indexing = options.events > 0 ? await runIndexing(db, options, random) : undefined;
    console.log('');
    console.log(formatQueryReport(results, options.rate));
    console.log('');
    if (indexing !== undefined) console.log(`${formatIndexingReport(indexing)}\n`);
    console.log('Latency: from the moment a request was due (open loop) to its complete response body.');
    console.log(
      "Indexing: events published first (real topics, EventProducer), indexed by the bench server's consumer group.",
    );
    console.log(`Reproduce: npm run bench -- registry ${options.argv.join(' ')}`.trimEnd());
    return results.some((r) => r.errors > 0) || (indexing !== undefined && indexing.indexed < indexing.events)
      ? 1
      : 0;
  } finally {
    await server.stop();
    await issuer.close();
    await db.end();
  }
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`bench registry failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
