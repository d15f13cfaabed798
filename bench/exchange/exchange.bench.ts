import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { KeyLike } from 'jose';
import { Client } from 'pg';
import { decidePatient, encodeVisibility, parseRegionPolicy } from '@tessera/consent-policy';
import type { PatientPolicy } from '@tessera/consent-policy';
import { loadConfig, postgresConfig, redisConfig } from '@tessera/platform-config';
import {
  ACCESS_TOKEN_ALGORITHM,
  ACCESS_TOKEN_TYPE,
  Audiences,
  SERVICE_ROLE_EXCHANGE,
} from '@tessera/platform-auth';
import { readCachedPolicy, writeCachedPolicy } from '@tessera/platform-consent-cache';
import { connectRedis } from '@tessera/platform-redis';
import { readFileSync } from 'node:fs';
import { percentile, table } from '../../tools/report/text-report';
import { freePort, intArg, runOpenLoopSearches, startBenchProcess } from '../bench-support';
import type { BenchProcess, SearchRunResult } from '../bench-support';
import { seededRandom } from '../registry/registry.bench';

/*
 * Exchange benchmark: `npm run bench -- exchange [options]`.
 *
 *   --decisions 200000   warm-cache consent decisions timed (Redis MGET + decidePatient, in process)
 *   --persons 10000      policies cached for the decision phase
 *   --rate 50            offered document queries/s per arm (direct registry, through the exchange)
 *   --duration 20        seconds per arm
 *   --hot 2000           persons queried (their policies are warmed first)
 *   --seed 1
 *   --no-instrumentation  start the exchange without OpenTelemetry (compare its cost)
 *   --profile-dir DIR     V8 CPU profile of the exchange process (--cpu-prof)
 *
 * Phase 1 — decision: policies of `--persons` synthetic persons are cached with the real protocol
 * (writeCachedPolicy); then one MGET of version key + policy (readCachedPolicy) and decidePatient
 * per decision, sequentially, timed one by one.
 *
 * Phase 2 — enforcement + audit: the registry benchmark's database (`tessera_registry_bench`, load it
 * with `npm run bench -- registry --patients N --items M`) served by the compiled registry in its own
 * process; the compiled exchange in its own process in front of it (real token verification, rate
 * limit, Redis policy cache, decidePatient, visibility push-down, decideItem re-check, AuditWriter
 * to hie.audit with acks=all, awaited). The consent service is a stub answering the internal policy
 * of any person (policies are warmed before timing, so it is not on the timed path). Both arms ask
 * the same `DocumentReference?patient=<eid>&_count=20` for the same persons at the same offered rate:
 * direct to the registry with a permissive visibility and a service token, and through the exchange
 * with an institution token and purpose TREAT. The difference of the percentiles is what
 * enforcement and audit add.
 */

const ROOT = path.resolve(__dirname, '../../..');
const REGISTRY_DB = 'tessera_registry_bench';
const EXCHANGE_DB = 'tessera_exchange_bench';

export interface ExchangeBenchOptions {
  readonly decisions: number;
  readonly persons: number;
  readonly rate: number;
  readonly durationS: number;
  readonly hot: number;
  readonly seed: number;
  /** Start the exchange without `--import instrumentation.js` (to see what OpenTelemetry costs). */
  readonly noInstrumentation: boolean;
  /** Write a V8 CPU profile of the exchange process into this directory (`--cpu-prof`). */
  readonly profileDir: string | undefined;
}

export function parseExchangeBenchArgs(argv: readonly string[]): ExchangeBenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      decisions: { type: 'string' },
      persons: { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string' },
      hot: { type: 'string' },
      seed: { type: 'string' },
      'no-instrumentation': { type: 'boolean', default: false },
      'profile-dir': { type: 'string' },
    },
  });
  return {
    decisions: intArg(values.decisions, 'decisions', 200_000, 1, 10_000_000),
    persons: intArg(values.persons, 'persons', 10_000, 1, 1_000_000),
    rate: intArg(values.rate, 'rate', 50, 1, 5_000),
    durationS: intArg(values.duration, 'duration', 20, 1, 300),
    hot: intArg(values.hot, 'hot', 2_000, 1, 100_000),
    seed: intArg(values.seed, 'seed', 1, 0, 2 ** 31 - 1),
    noInstrumentation: values['no-instrumentation'],
    profileDir: values['profile-dir'],
  };
}

function ms(n: number): string {
  return n < 1 ? n.toFixed(3) : n.toFixed(1);
}

/** A synthetic policy: some opted out, some with a label permit, holding institutions 1–3. */
function syntheticPolicy(enterpriseId: string, n: number): PatientPolicy {
  return {
    enterpriseId,
    version: 1,
    directives:
      n % 5 === 0
        ? [
            {
              id: `d-${n}`,
              version: 1,
              status: 'active',
              anchor: { kind: 'enterprise', enterpriseId },
              base: n % 10 === 0 ? 'deny' : 'permit',
              provisions: [{ type: 'permit', actors: ['inst-1'], purposes: [], securityLabels: ['PSY'] }],
              recordedBy: 'bench',
              recordedAt: '2026-01-01T00:00:00Z',
              source: 'fhir',
            },
          ]
        : [],
    breakGlass: [],
    holdingInstitutions: ['inst-0', 'inst-1', 'inst-2', 'inst-3'].slice(0, 1 + (n % 3)),
  };
}

// ------------------------------------------------------------------------------------------------
// Phase 1: decision with a warm cache

interface DecisionResult {
  readonly count: number;
  readonly latencies: number[];
  readonly decideOnly: number[];
}

async function runDecisions(options: ExchangeBenchOptions): Promise<DecisionResult> {
  const region = parseRegionPolicy(
    readFileSync(path.join(ROOT, 'deploy/demo-region/consent-policy.yaml'), 'utf8'),
  );
  const redis = await connectRedis(loadConfig(redisConfig), () => undefined, 'exchange-bench');
  const run = randomUUID().slice(0, 8);
  const ids = Array.from({ length: options.persons }, (_, n) => `bench-${run}-${n}`);
  try {
    for (let i = 0; i < ids.length; i += 500) {
      await Promise.all(
        ids.slice(i, i + 500).map((id, k) => writeCachedPolicy(redis, syntheticPolicy(id, i + k), 900)),
      );
    }
    const random = seededRandom(options.seed);
    const parse = (json: unknown) => json as PatientPolicy;
    const latencies: number[] = [];
    const decideOnly: number[] = [];
    const request = { institutionId: 'inst-1', purposeOfUse: 'TREAT' as const };
    for (let n = 0; n < options.decisions; n += 1) {
      const id = ids[Math.floor(random() * ids.length)] ?? '';
      const started = performance.now();
      const { policy } = await readCachedPolicy(redis, id, parse);
      if (policy === null) throw new Error('cache miss in the warm phase');
      const decideStarted = performance.now();
      const decision = decidePatient(region, policy, request, new Date());
      encodeVisibility({ ...decision.visibility, enterpriseId: id });
      const done = performance.now();
      latencies.push(done - started);
      decideOnly.push(done - decideStarted);
    }
    return {
      count: options.decisions,
      latencies: latencies.sort((a, b) => a - b),
      decideOnly: decideOnly.sort((a, b) => a - b),
    };
  } finally {
    for (let i = 0; i < ids.length; i += 1000) {
      await redis.del(
        ids.slice(i, i + 1000).flatMap((id) => [`consent:policy-version:{${id}}`, `consent:policy:{${id}}`]),
      );
    }
    await redis.close();
  }
}

// ------------------------------------------------------------------------------------------------
// Phase 2: one document query, direct vs through the exchange

type Started = BenchProcess;

/** CPU time (user, system) a process has used, in ms (Linux /proc). */
function cpuMs(pid: number | undefined): { user: number; system: number } {
  if (pid === undefined) return { user: Number.NaN, system: Number.NaN };
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    // clock ticks of 10 ms
    return { user: (Number(fields[11]) * 1000) / 100, system: (Number(fields[12]) * 1000) / 100 };
  } catch {
    return { user: Number.NaN, system: Number.NaN };
  }
}

function startProcess(label: string, args: string[], env: Record<string, string>, port: number): Promise<Started> {
  return startBenchProcess(label, args, env, port, ROOT);
}

/** Stand-in consent service: the internal policy of any person (default sharing, held by inst-0..3). */
async function startConsentStub(): Promise<Started & { calls(): number }> {
  let calls = 0;
  const server = createServer((req, res) => {
    const m = /^\/internal\/policy\/([A-Za-z0-9\-.]{1,64})$/.exec(req.url ?? '');
    if (m === null) {
      res
        .writeHead(404, { 'content-type': 'application/fhir+json' })
        .end('{"resourceType":"OperationOutcome","issue":[]}');
      return;
    }
    calls += 1;
    const policy: PatientPolicy = {
      enterpriseId: m[1] ?? '',
      version: 1,
      directives: [],
      breakGlass: [],
      holdingInstitutions: ['inst-0', 'inst-1', 'inst-2', 'inst-3'],
    };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(policy));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls: () => calls,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function mint(
  key: KeyLike,
  kid: string,
  issuer: string,
  claims: Record<string, unknown>,
  sub: string,
  audience: string,
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: ACCESS_TOKEN_ALGORITHM, typ: ACCESS_TOKEN_TYPE, kid })
    .setIssuer(issuer)
    .setSubject(sub)
    .setAudience(audience)
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .setJti(randomUUID())
    .sign(key);
}

async function registrySize(): Promise<{ patients: number; items: number }> {
  const db = new Client({ ...(await pgConfig()), database: REGISTRY_DB });
  await db.connect();
  try {
    const rows = (
      await db.query<{ patients: string; items: string }>('SELECT patients, items FROM bench_meta')
    ).rows;
    if (rows[0] === undefined) throw new Error('bench_meta is empty');
    return { patients: Number(rows[0].patients), items: Number(rows[0].items) };
  } catch (error) {
    throw new Error(
      `${REGISTRY_DB} is not loaded (run \`npm run bench -- registry --patients N --items M\` first): ${(error as Error).message}`,
    );
  } finally {
    await db.end();
  }
}

async function pgConfig() {
  const s = loadConfig(postgresConfig);
  return { host: s.PGHOST, port: s.PGPORT, user: s.PGUSER, password: s.PGPASSWORD };
}

/** Cumulative buckets `[le seconds, count]` of a Prometheus histogram with the given label. */
function histogram(text: string, name: string, label: string): [number, number][] {
  const out: [number, number][] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}_bucket{`) || !line.includes(label)) continue;
    const le = /le="([^"]+)"/.exec(line)?.[1];
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (le !== undefined) out.push([le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le), value]);
  }
  return out;
}

/** The smallest bucket bound holding the p-th percentile (an upper bound of it). */
function bucketPercentile(buckets: readonly [number, number][], p: number): string {
  const total = buckets.at(-1)?.[1] ?? 0;
  if (total === 0) return 'n/a';
  const bound = buckets.find(([, n]) => n >= (p / 100) * total)?.[0] ?? Number.POSITIVE_INFINITY;
  return Number.isFinite(bound) ? `≤ ${ms(bound * 1000)}` : '> max bucket';
}

async function runEnforcement(options: ExchangeBenchOptions): Promise<{
  size: { patients: number; items: number };
  direct: SearchRunResult;
  exchange: SearchRunResult;
  consentCalls: number;
  audit: [number, number][];
  exchangeCpuPerRequest: { user: number; system: number };
}> {
  const size = await registrySize();
  const dir = mkdtempSync(path.join(tmpdir(), 'exchange-bench-'));
  const kid = `bench-${randomUUID()}`;
  const { privateKey } = await generateKeyPair(ACCESS_TOKEN_ALGORITHM, { extractable: true });
  writeFileSync(
    path.join(dir, 'signing.jwk'),
    JSON.stringify({ ...(await exportJWK(privateKey)), kid, alg: ACCESS_TOKEN_ALGORITHM }),
  );
  writeFileSync(
    path.join(dir, 'clients.yaml'),
    `clients:\n  - client_id: bench-inst\n    kind: institution\n    institution_id: inst-1\n    allowed_scopes: [system/DocumentReference.read]\n    allowed_purposes_of_use: [TREAT]\n    rate_limit_per_second: 100000\n    jwks:\n      keys:\n        - {kty: EC, crv: P-256, kid: placeholder, alg: ES256, x: f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU, y: x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0}\n`,
  );
  const exchangePort = await freePort();
  const registryPort = await freePort();
  const issuer = `http://127.0.0.1:${exchangePort}`;
  const consent = await startConsentStub();
  const registry = await startProcess(
    'registry',
    [path.join(ROOT, 'dist/bench/registry/registry-server.main.js'), String(registryPort)],
    { DB_NAME: REGISTRY_DB, AUTH_ISSUER: issuer, AUTH_JWKS_URL: `${issuer}/.well-known/jwks.json` },
    registryPort,
  );
  let exchange: Started | undefined;
  try {
    exchange = await startProcess(
      'exchange',
      [
        ...(options.profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`]),
        ...(options.noInstrumentation ? [] : ['--import', './dist/apps/exchange/src/instrumentation.js']),
        path.join(ROOT, 'dist/apps/exchange/src/main.js'),
      ],
      {
        DB_NAME: EXCHANGE_DB,
        AUTH_ISSUER: issuer,
        EXCHANGE_PUBLIC_BASE_URL: issuer,
        EXCHANGE_SIGNING_KEY_FILE: path.join(dir, 'signing.jwk'),
        EXCHANGE_CLIENTS_FILE: path.join(dir, 'clients.yaml'),
        EXCHANGE_REGISTRY_URL: registry.url,
        EXCHANGE_CONSENT_URL: consent.url,
        EXCHANGE_MPI_URL: consent.url,
      },
      exchangePort,
    );
    const serviceToken = await mint(
      privateKey,
      kid,
      issuer,
      { tessera_kind: 'service', tessera_roles: [SERVICE_ROLE_EXCHANGE] },
      'bench-direct',
      Audiences.internal,
    );
    const institutionToken = await mint(
      privateKey,
      kid,
      issuer,
      {
        tessera_kind: 'institution',
        tessera_institution: 'inst-1',
        tessera_roles: [],
        scope: 'system/DocumentReference.read',
      },
      'bench-inst',
      Audiences.exchange,
    );
    const random = seededRandom(options.seed);
    const hot = Array.from(
      { length: Math.min(options.hot, size.patients) },
      () => `EB${Math.floor(random() * size.patients)}`,
    );
    const exchangeRequest = (eid: string) => ({
      url: `${exchange?.url ?? ''}/fhir/DocumentReference?patient=${eid}&_count=20`,
      headers: { authorization: `Bearer ${institutionToken}`, 'x-tessera-purpose-of-use': 'TREAT' },
    });
    // Warm the policy cache and the connection pools (not timed).
    for (let i = 0; i < hot.length; i += 20) {
      await Promise.all(
        hot
          .slice(i, i + 20)
          .map((eid) =>
            fetch(exchangeRequest(eid).url, { headers: exchangeRequest(eid).headers }).then((r) =>
              r.arrayBuffer(),
            ),
          ),
      );
    }
    const warmCalls = consent.calls();
    const pick = seededRandom(options.seed + 1);
    const order = Array.from(
      { length: options.rate * options.durationS },
      () => hot[Math.floor(pick() * hot.length)] ?? 'EB0',
    );
    const direct = await runOpenLoopSearches(
      'registry direct (permissive visibility)',
      options.rate,
      options.durationS * 1000,
      (n) => {
        const eid = order[n] ?? 'EB0';
        return {
          url: `${registry.url}/DocumentReference?patient=${eid}&_count=20`,
          headers: {
            authorization: `Bearer ${serviceToken}`,
            'x-tessera-visibility': encodeVisibility({
              enterpriseId: eid,
              ownInstitution: 'inst-1',
              others: 'all',
              deniedLabels: [],
            }),
          },
        };
      },
    );
    const before = histogram(
      await (await fetch(`${exchange.url}/metrics`)).text(),
      'audit_record_latency_seconds',
      'outcome="ok"',
    );
    const cpuBefore = cpuMs(exchange.pid);
    const viaExchange = await runOpenLoopSearches(
      'through the exchange (enforcement + audit)',
      options.rate,
      options.durationS * 1000,
      (n) => exchangeRequest(order[n] ?? 'EB0'),
    );
    const after = histogram(
      await (await fetch(`${exchange.url}/metrics`)).text(),
      'audit_record_latency_seconds',
      'outcome="ok"',
    );
    const audit = after.map(([le, n], i) => [le, n - (before[i]?.[1] ?? 0)] as [number, number]);
    const cpuAfter = cpuMs(exchange.pid);
    const exchangeCpuPerRequest = {
      user: (cpuAfter.user - cpuBefore.user) / viaExchange.sent,
      system: (cpuAfter.system - cpuBefore.system) / viaExchange.sent,
    };
    return {
      size,
      direct,
      exchange: viaExchange,
      consentCalls: consent.calls() - warmCalls,
      audit,
      exchangeCpuPerRequest,
    };
  } finally {
    await exchange?.stop();
    await registry.stop();
    await consent.stop();
  }
}

// ------------------------------------------------------------------------------------------------

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  const options = parseExchangeBenchArgs(argv);
  console.log(`exchange benchmark: ${JSON.stringify(options)}`);
  const decisions = await runDecisions(options);
  const d = decisions.latencies;
  console.log(
    `\nconsent decision, warm cache (${decisions.count.toLocaleString('en')} decisions over ${options.persons.toLocaleString('en')} cached persons, sequential):`,
  );
  console.log(
    table(
      ['', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'aim'],
      [
        [
          'MGET + decidePatient + visibility',
          ms(percentile(d, 50)),
          ms(percentile(d, 95)),
          ms(percentile(d, 99)),
          ms(d.at(-1) ?? 0),
          'p99 < 2 ms',
        ],
        [
          'decidePatient alone (CPU)',
          ms(percentile(decisions.decideOnly, 50)),
          ms(percentile(decisions.decideOnly, 95)),
          ms(percentile(decisions.decideOnly, 99)),
          ms(decisions.decideOnly.at(-1) ?? 0),
          '',
        ],
      ],
    ),
  );
  const e = await runEnforcement(options);
  console.log(
    `\ndocument query, ${e.size.patients.toLocaleString('en')} persons / ${e.size.items.toLocaleString('en')} items, ${options.rate}/s offered for ${options.durationS} s per arm, ${options.hot} hot persons (policy cache warm; consent stub calls while timed: ${e.consentCalls}):`,
  );
  const row = (r: SearchRunResult) => [
    r.label,
    String(r.sent),
    String(r.errors),
    r.meanItems.toFixed(1),
    ms(percentile(r.latencies, 50)),
    ms(percentile(r.latencies, 95)),
    ms(percentile(r.latencies, 99)),
  ];
  const added = (p: number) => ms(percentile(e.exchange.latencies, p) - percentile(e.direct.latencies, p));
  console.log(
    table(
      ['', 'sent', 'errors', 'items/answer', 'p50 ms', 'p95 ms', 'p99 ms'],
      [
        row(e.direct),
        row(e.exchange),
        ['added by enforcement + audit', '', '', '', added(50), added(95), `${added(99)} (aim < 10)`],
      ],
    ),
  );
  console.log(
    `audit record durable (AuditWriter group commit to hie.audit, acks=all), from the exchange's histogram: p50 ${bucketPercentile(e.audit, 50)} ms, p95 ${bucketPercentile(e.audit, 95)} ms, p99 ${bucketPercentile(e.audit, 99)} ms (${e.audit.at(-1)?.[1] ?? 0} records); exchange process CPU ${ms(e.exchangeCpuPerRequest.user + e.exchangeCpuPerRequest.system)} ms per request (user ${ms(e.exchangeCpuPerRequest.user)}, system ${ms(e.exchangeCpuPerRequest.system)})`,
  );
  return e.direct.errors + e.exchange.errors === 0 ? 0 : 1;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
