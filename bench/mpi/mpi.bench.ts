import 'reflect-metadata';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import { normalizeName } from '@tessera/matching';
import { loadConfig, postgresConfig } from '@tessera/platform-config';
import { OutboxWriter } from '@tessera/platform-outbox';
import { createDataSource, migrate } from '@tessera/platform-persistence';
import type { PostgresSettings } from '@tessera/platform-persistence';
import { generatePopulation, SeededRandom } from '@tessera/synthetic-population';
import type { PersonWithRecords, SourceRecord, TruthPerson } from '@tessera/synthetic-population';
import { serviceOptions } from '../../apps/mpi/src/app.module';
import { IdentityQueryService } from '../../apps/mpi/src/identity/identity-query.service';
import { IdentityRepository } from '../../apps/mpi/src/identity/identity.repository';
import { LinkWriter } from '../../apps/mpi/src/links/link-writer.service';
import { MatchRecordHandler } from '../../apps/mpi/src/matching/match-record.handler';
import { goldenRecord } from '../../apps/mpi/src/pdq/golden-record.projection';
import { PatientMatchHandler } from '../../apps/mpi/src/pdq/patient-match.handler';
import { percentile, table } from '../../tools/report/text-report';
import { intArg } from '../bench-support';
import { machineInfo } from '../gateway/gateway.bench';
import { matchingProfileOf } from '../../apps/mpi/src/matching/rule-sets';
import type { MatchingProfile } from '../../apps/mpi/src/matching/rule-sets';
import { bulkDatabaseName } from './mpi-bulk';
import { ensureBulkDatabase } from './mpi-bulk-load';
import { errorBreakdown, pairwiseQuality, patientOf, systemOf } from './mpi-data';
import type { TruthRecord } from './mpi-data';

/*
 * MPI quality and speed benchmark: `npm run bench -- mpi [options]`.
 *
 *   --records 100000   source records to index (seeded synthetic US population, 4 institutions)
 *   --seed 2026        population seed (the matcher's m/u were estimated on seed 777)
 *   --window 5000      latency "at N" = the last `window` records indexed (index ≥ N − window)
 *   --queries 2000     PDQm searches and $match calls after indexing
 *   --id-profile synthetic   national id validation (MPI_NATIONAL_ID_PROFILE): synthetic accepts the
 *                      generator's 9xx SSNs as plausible; strict = real-world rules (they are invalid)
 *   --rule-set v2      rule-set version (MPI_RULE_SET_VERSION; v1 for the earlier runs)
 *   --breakdown        also print false positives / negatives by cause (twin, household, corruption)
 *   --bulk             index `records` in bulk (mpi-bulk.ts: the rows the MPI writes, links = the truth) into a
 *                      kept database tessera_mpi_bench_<size> (reused when its marker row matches), then time
 *                      `window` new records through MatchRecordHandler.upsert and the PDQm / $match queries;
 *                      no quality numbers
 *
 * Every record goes through the MPI's own MatchRecordHandler.upsert in its own transaction, exactly
 * as the hie.patient consumer runs it (advisory locks, version row, blocking keys, candidates,
 * Fellegi–Sunter, link + history + outbox row), sequentially, in-process, against a fresh database
 * `tessera_mpi_bench` (no Kafka: the outbox rows are written, not relayed). Quality: pairwise
 * precision / recall / F1 of "same enterprise id" against the generator's truth. PDQm: the search
 * and golden-record projection the controller runs (family + birthdate), in-process, no HTTP.
 */

const DB_NAME = 'tessera_mpi_bench';
const INSTITUTIONS = [
  { id: 'B1', assigningAuthority: '2.16.840.1.113883.3.9100.1' },
  { id: 'B2', assigningAuthority: '2.16.840.1.113883.3.9100.2', upperCaseNames: true },
  { id: 'B3', assigningAuthority: '2.16.840.1.113883.3.9100.3', asciiOnly: true },
  { id: 'B4', assigningAuthority: '2.16.840.1.113883.3.9100.4' },
];

interface Options {
  readonly records: number;
  readonly seed: number;
  readonly window: number;
  readonly queries: number;
  readonly idProfile: 'strict' | 'synthetic';
  readonly ruleSet: string | undefined;
  readonly breakdown: boolean;
  readonly bulk: boolean;
}

function parseOptions(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      records: { type: 'string' },
      seed: { type: 'string' },
      window: { type: 'string' },
      queries: { type: 'string' },
      'id-profile': { type: 'string' },
      'rule-set': { type: 'string' },
      breakdown: { type: 'boolean' },
      bulk: { type: 'boolean' },
    },
  });
  const idProfile = values['id-profile'] ?? 'synthetic';
  if (idProfile !== 'strict' && idProfile !== 'synthetic') throw new Error('--id-profile must be strict or synthetic');
  return {
    records: intArg(values.records, 'records', 100_000, 100, 10_000_000),
    seed: intArg(values.seed, 'seed', 2026, 0, 2 ** 31 - 1),
    window: intArg(values.window, 'window', 5_000, 10, 1_000_000),
    queries: intArg(values.queries, 'queries', 2_000, 0, 100_000),
    idProfile,
    ruleSet: values['rule-set'],
    breakdown: values.breakdown === true,
    bulk: values.bulk === true,
  };
}

function ms(values: readonly number[]): { p50: string; p99: string; max: string } {
  const sorted = Float64Array.from(values).sort();
  const f = (v: number): string => `${v.toFixed(2)} ms`;
  return { p50: f(percentile(sorted, 50)), p99: f(percentile(sorted, 99)), max: f(sorted[sorted.length - 1] ?? Number.NaN) };
}

async function recreateDatabase(settings: PostgresSettings): Promise<void> {
  const client = new Client({
    host: settings.PGHOST,
    port: settings.PGPORT,
    user: settings.PGUSER,
    ...(settings.PGPASSWORD === undefined ? {} : { password: settings.PGPASSWORD }),
    database: 'postgres',
  });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${DB_NAME} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/** Persons of the seeded population until `n` source records (the generator is prefix-stable). */
function sourceRecords(n: number, seed: number): { records: SourceRecord[]; persons: Map<string, TruthPerson> } {
  const population = generatePopulation({ seed, persons: Math.ceil(n * 1.2), region: 'us', institutions: INSTITUTIONS });
  const records: SourceRecord[] = [];
  const persons = new Map<string, TruthPerson>();
  outer: for (const p of population.persons()) {
    persons.set(p.person.personId, p.person);
    for (const record of p.records) {
      if (records.length >= n) break outer;
      records.push(record);
    }
  }
  return { records, persons };
}

/** PDQm family + birthdate search (+ golden records) and $match of each sample record, timed. */
async function queryLatencies(
  sample: readonly SourceRecord[],
  identities: IdentityQueryService,
  matches: PatientMatchHandler,
): Promise<{ pdq: number[]; match: number[]; pdqHits: number }> {
  const pdq: number[] = [];
  const match: number[] = [];
  let pdqHits = 0;
  for (const record of sample) {
    const d = record.demographics;
    const family = d.family === undefined ? undefined : normalizeName(d.family, 'family')?.latin;
    if (family === undefined || d.birthDate === undefined) continue;
    const t0 = performance.now();
    const { ids: found } = await identities.search({ familyPrefix: family, birthDate: d.birthDate, count: 20, offset: 0 });
    for (const id of found) goldenRecord(id, (await identities.members(id)).filter((m) => !m.retired));
    pdq.push(performance.now() - t0);
    if (found.length > 0) pdqHits++;
    const t1 = performance.now();
    await matches.match(patientOf(record), { count: 10, onlyCertain: false });
    match.push(performance.now() - t1);
  }
  return { pdq, match, pdqHits };
}

/** Persons of the seeded population (the generator is prefix-stable: any size gives the same first persons). */
function populationOf(records: number, seed: number): Iterable<PersonWithRecords> {
  return generatePopulation({ seed, persons: Math.ceil(records * 1.2), region: 'us', institutions: INSTITUTIONS }).persons();
}

/**
 * `--bulk`: load (or reuse) the kept database, then time `window` new records — the source records
 * following those already indexed — through MatchRecordHandler.upsert, one committed transaction each,
 * and the PDQm / $match queries of random loaded records. No quality numbers (the links are the truth).
 */
async function bulkMain(options: Options, profile: MatchingProfile, postgres: PostgresSettings, machine: ReturnType<typeof machineInfo>): Promise<void> {
  const database = bulkDatabaseName(options.records);
  const started = performance.now();
  const load = await ensureBulkDatabase(
    postgres,
    { database, records: options.records, seed: options.seed, idProfile: options.idProfile },
    profile,
    populationOf(options.records, options.seed),
  );
  console.log(
    load.loadedNow
      ? `loaded ${options.records.toLocaleString('en')} records into ${database} in ${(load.loadSeconds / 60).toFixed(1)} min (generation, normalisation, inserts, indexes, VACUUM ANALYZE)`
      : `reusing ${database} (loaded earlier in ${(load.loadSeconds / 60).toFixed(1)} min)`,
  );
  const dataSource = createDataSource({ settings: postgres, database, migrations: serviceOptions.migrations, poolSize: 4, applicationName: 'mpi-bench' });
  await dataSource.initialize();
  try {
    const [count] = await dataSource.query<{ n: number }[]>('SELECT count(*)::int AS n FROM source_records');
    const indexed = count?.n ?? 0;
    // Query sample: random loaded records; window: the records after the ones indexed (earlier runs' windows included).
    const rng = new SeededRandom(options.seed + 1);
    const picks = new Map<number, number>();
    for (let q = 0; q < options.queries; q++) {
      const i = rng.int(0, options.records - 1);
      picks.set(i, (picks.get(i) ?? 0) + 1);
    }
    const sample: SourceRecord[] = [];
    const window: SourceRecord[] = [];
    let i = 0;
    outer: for (const p of populationOf(options.records, options.seed)) {
      for (const record of p.records) {
        for (let k = picks.get(i) ?? 0; k > 0; k--) sample.push(record);
        if (i >= indexed) window.push(record);
        i++;
        if (window.length >= options.window) break outer;
      }
    }
    console.log(`${indexed.toLocaleString('en')} source records indexed; matching ${window.length.toLocaleString('en')} new records`);

    const repository = new IdentityRepository();
    const matcher = new MatchRecordHandler(repository, new LinkWriter(repository, new OutboxWriter()), profile);
    const identities = new IdentityQueryService(dataSource);
    const matches = new PatientMatchHandler(dataSource, repository, identities, matcher);
    const latencies: number[] = [];
    for (const record of window) {
      const t0 = performance.now();
      await dataSource.transaction((tx) =>
        matcher.upsert(
          { institutionId: record.institutionId, system: systemOf(record), localId: record.mrn, patient: patientOf(record), sourceMessageId: `bench-${record.recordId}` },
          tx,
        ),
      );
      latencies.push(performance.now() - t0);
    }
    const { pdq, match, pdqHits } = await queryLatencies(sample, identities, matches);
    const m = ms(latencies);
    console.log('');
    console.log(
      table(
        ['metric', 'value'],
        [
          ['source records indexed (bulk, links = truth)', `${indexed.toLocaleString('en')} (${options.records.toLocaleString('en')} loaded in bulk)`],
          ['bulk load', load.loadedNow ? `${(load.loadSeconds / 60).toFixed(1)} min (${(options.records / load.loadSeconds).toFixed(0)} records/s)` : `reused (${(load.loadSeconds / 60).toFixed(1)} min when loaded)`],
          [`match latency p50 / p99, ${latencies.length.toLocaleString('en')} new records`, `${m.p50} / ${m.p99} (max ${m.max})`],
          [`PDQm family+birthdate p50 / p99 (${pdq.length}, ${pdqHits} found)`, `${ms(pdq).p50} / ${ms(pdq).p99}`],
          [`$match p50 / p99 (${match.length})`, `${ms(match).p50} / ${ms(match).p99}`],
          ['wall time', `${((performance.now() - started) / 60_000).toFixed(1)} min`],
        ],
      ),
    );
    console.log('quality: not measured in --bulk mode (the loaded links are the generator\'s truth, not matcher decisions)');
    console.log(`\nmachine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB.toFixed(1)} GiB, ${machine.os}, node ${machine.node}`);
  } finally {
    await dataSource.destroy();
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const machine = machineInfo();
  const postgres = loadConfig(postgresConfig);
  const profile = matchingProfileOf({
    MPI_REGION: 'us',
    MPI_NATIONAL_ID_PROFILE: options.idProfile,
    MPI_RULE_SET_VERSION: options.ruleSet ?? 'v2',
  });
  console.log(
    `mpi bench: ${options.records.toLocaleString('en')} source records, seed ${options.seed}, rule set ${profile.ruleSet.version}, ` +
      `national id profile ${options.idProfile}${options.bulk ? ', bulk' : ''}; ${machine.cpu}, ${machine.cores} cores`,
  );
  if (options.bulk) return bulkMain(options, profile, postgres, machine);
  const { records, persons: truth } = sourceRecords(options.records, options.seed);
  console.log(`generated ${records.length.toLocaleString('en')} records of ${new Set(records.map((r) => r.personId)).size.toLocaleString('en')} persons`);

  await recreateDatabase(postgres);
  await migrate({ settings: postgres, database: DB_NAME, migrations: serviceOptions.migrations, applicationName: 'mpi-bench-migrate' });
  const dataSource = createDataSource({ settings: postgres, database: DB_NAME, migrations: serviceOptions.migrations, poolSize: 4, applicationName: 'mpi-bench' });
  await dataSource.initialize();
  try {
    const repository = new IdentityRepository();
    const matcher = new MatchRecordHandler(repository, new LinkWriter(repository, new OutboxWriter()), profile);
    const identities = new IdentityQueryService(dataSource);
    const matches = new PatientMatchHandler(dataSource, repository, identities, matcher);

    // Indexing: one transaction per record, like the consumer.
    const latencies = new Float64Array(records.length);
    const started = performance.now();
    let lastReport = started;
    for (const [i, record] of records.entries()) {
      const t0 = performance.now();
      await dataSource.transaction((tx) =>
        matcher.upsert(
          {
            institutionId: record.institutionId,
            system: systemOf(record),
            localId: record.mrn,
            patient: patientOf(record),
            sourceMessageId: `bench-${record.recordId}`,
          },
          tx,
        ),
      );
      const t1 = performance.now();
      latencies[i] = t1 - t0;
      if (t1 - lastReport > 30_000) {
        lastReport = t1;
        const rate = (i + 1) / ((t1 - started) / 1000);
        console.log(`  indexed ${(i + 1).toLocaleString('en')} (${rate.toFixed(0)} records/s, eta ${((records.length - i - 1) / rate / 60).toFixed(1)} min)`);
      }
    }
    const indexSeconds = (performance.now() - started) / 1000;
    await dataSource.query('ANALYZE');

    // Quality against the truth.
    const personOf = new Map(records.map((r) => [`${systemOf(r)}|${r.mrn}`, r.personId]));
    const links = await dataSource.query<{ key: string; enterpriseId: string }[]>(
      `SELECT sr.system || '|' || sr.local_id AS key, l.enterprise_id AS "enterpriseId" FROM links l JOIN source_records sr ON sr.id = l.source_record_id`,
    );
    const quality = pairwiseQuality(links.map((l) => ({ cluster: l.enterpriseId, person: personOf.get(l.key) ?? `?${l.key}` })));
    const [tasks] = await dataSource.query<{ tasks: number; records: number }[]>(
      `SELECT count(*)::int AS tasks, count(DISTINCT source_record_id)::int AS records FROM review_tasks WHERE status = 'OPEN'`,
    );
    if (options.breakdown) {
      const recordOf = new Map(records.map((r) => [`${systemOf(r)}|${r.mrn}`, r]));
      const rows: TruthRecord[] = [];
      for (const l of links) {
        const r = recordOf.get(l.key);
        const person = r === undefined ? undefined : truth.get(r.personId);
        if (r === undefined || person === undefined) continue;
        rows.push({
          cluster: l.enterpriseId,
          person: r.personId,
          household: person.householdId,
          ...(person.twinOf === undefined ? {} : { twinOf: person.twinOf }),
          placeholder: r.placeholder,
          corruptions: r.corruptions,
        });
      }
      const b = errorBreakdown(rows);
      const sorted = (m: Readonly<Record<string, number>>): string =>
        Object.entries(m)
          .sort((x, y) => y[1] - x[1])
          .map(([k, v]) => `${k} ${v}`)
          .join(', ');
      console.log(`false positive pairs: ${quality.predictedPairs - quality.truePositives} (${sorted(b.falsePositives)})`);
      console.log(`false negative pairs: ${b.falseNegativePairs} (by corruption of either record: ${sorted(b.falseNegatives)})`);
    }
    const [ids] = await dataSource.query<{ n: number }[]>('SELECT count(*)::int AS n FROM enterprise_ids');
    const persons = new Set(records.map((r) => r.personId)).size;

    // PDQm searches (family + birthdate, as sent by a random record) and $match of random records.
    const rng = new SeededRandom(options.seed + 1);
    const sample = Array.from({ length: options.queries }, () => records[rng.int(0, records.length - 1)]).filter(
      (r): r is SourceRecord => r !== undefined,
    );
    const { pdq, match, pdqHits } = await queryLatencies(sample, identities, matches);

    const all = ms(Array.from(latencies));
    const tail = ms(Array.from(latencies.subarray(Math.max(0, records.length - options.window))));
    const pct = (v: number): string => `${(v * 100).toFixed(2)} %`;
    console.log('');
    console.log(
      table(
        ['metric', 'value'],
        [
          ['source records indexed', records.length.toLocaleString('en')],
          ['truth persons / enterprise ids', `${persons.toLocaleString('en')} / ${ids?.n.toLocaleString('en') ?? '?'}`],
          ['true pairs / predicted pairs', `${quality.truePairs.toLocaleString('en')} / ${quality.predictedPairs.toLocaleString('en')}`],
          ['precision (pairwise)', quality.precision.toFixed(4)],
          ['recall (pairwise)', quality.recall.toFixed(4)],
          ['F1', quality.f1.toFixed(4)],
          ['open review tasks (% of records)', `${tasks?.tasks ?? 0} (${pct((tasks?.tasks ?? 0) / records.length)})`],
          ['records with an open task', `${tasks?.records ?? 0} (${pct((tasks?.records ?? 0) / records.length)})`],
          ['indexing throughput', `${(records.length / indexSeconds).toFixed(0)} records/s (${(indexSeconds / 60).toFixed(1)} min)`],
          ['match latency p50 / p99, all records', `${all.p50} / ${all.p99}`],
          [`match latency p50 / p99, last ${options.window.toLocaleString('en')}`, `${tail.p50} / ${tail.p99} (max ${tail.max})`],
          [`PDQm family+birthdate p50 / p99 (${pdq.length}, ${pdqHits} found)`, `${ms(pdq).p50} / ${ms(pdq).p99}`],
          [`$match p50 / p99 (${match.length})`, `${ms(match).p50} / ${ms(match).p99}`],
        ],
      ),
    );
    console.log(`\nmachine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB.toFixed(1)} GiB, ${machine.os}, node ${machine.node}`);
  } finally {
    await dataSource.destroy();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
