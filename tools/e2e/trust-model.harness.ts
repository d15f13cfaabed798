import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import type { Admin } from 'kafkajs';
import { parse, stringify } from 'yaml';
import { encodeMllpFrame, MllpFrameDecoder } from '@tessera/hl7v2';
import { kafkaConfig, loadConfig, postgresConfig } from '@tessera/platform-config';
import type { PostgresSettings } from '@tessera/platform-persistence';
import { signClientAssertion, tokenRequestBody } from '../exchange-client/client-assertion';
import { removeRunGroups, waitForRunGroups } from './run-groups';
import {
  DEMO_CLIENTS_FILE,
  DEMO_KEYS_DIR,
  readClientKey,
  registeredScopes,
} from '../exchange-client/demo-keys';

/*
 * The region the trust-model suite attacks: the five compiled services (dist/) as their own
 * processes on free ports, each with its own database, isolated consumer groups (KAFKA_GROUP_SUFFIX)
 * starting at the end of the shared topics (KAFKA_GROUP_START=latest). The gateway reads a test
 * institutions seed giving St Aurelia and Riverside plain ports of their own with an address
 * allow-list (127.0.0.2 and 127.0.0.3). Everything a failure prints is a summary: status, ids,
 * sources, counts, issue codes — never demographics.
 */

export const SERVICES = ['exchange', 'interop-gateway', 'mpi', 'consent', 'document-registry'] as const;
export type ServiceName = (typeof SERVICES)[number];
const DB_OF: Record<ServiceName, string> = {
  exchange: 'exchange',
  'interop-gateway': 'gateway',
  mpi: 'mpi',
  consent: 'consent',
  'document-registry': 'registry',
};

export const ENTERPRISE_ID_SYSTEM = 'urn:tessera:enterprise-id';
export const STA_SOURCE = 'urn:tessera:institution:st-aurelia';
export const RCC_SOURCE = 'urn:tessera:institution:riverside';
/** Sender addresses of the two institutions' feeds (every 127/8 address is loopback on Linux). */
export const STA_ADDRESS = '127.0.0.2';
export const RCC_ADDRESS = '127.0.0.3';

export interface Answer {
  readonly status: number;
  readonly json: Record<string, unknown>;
  readonly bytes: Buffer;
  readonly headers: Headers;
}

export interface Resource extends Record<string, unknown> {
  id?: string;
  resourceType?: string;
  meta?: { source?: string; versionId?: string; security?: Array<{ code?: string }> };
}

export interface BundleEntry {
  readonly fullUrl?: string;
  readonly resource?: Resource;
  readonly search?: { mode?: string };
}

export interface CallOptions {
  readonly purpose?: string;
  readonly method?: string;
  readonly body?: unknown;
  readonly rawBody?: string;
  readonly headers?: Record<string, string>;
  /** A bearer token to send instead of the client's own. */
  readonly bearer?: string;
}

/** What a failure prints about an answer: status, type, total, entry ids/types/sources, issue codes. */
export function summary(answer: Answer): Record<string, unknown> {
  const json = answer.json;
  const entries = (json['entry'] as BundleEntry[] | undefined) ?? [];
  const issues = (json['issue'] as Array<{ code?: string; diagnostics?: string }> | undefined) ?? [];
  return {
    status: answer.status,
    resourceType: json['resourceType'],
    total: json['total'],
    ...(entries.length === 0
      ? {}
      : {
          entries: entries.map((e) => ({
            id: e.resource?.id,
            type: e.resource?.resourceType,
            source: e.resource?.meta?.source,
            mode: e.search?.mode,
          })),
        }),
    ...(issues.length === 0 ? {} : { issues: issues.map((i) => i.code ?? '') }),
    ...(json['error'] === undefined ? {} : { error: json['error'] }),
  };
}

export const entries = (answer: Answer): BundleEntry[] =>
  (answer.json['entry'] as BundleEntry[] | undefined) ?? [];
export const fromSource = (answer: Answer, source: string): BundleEntry[] =>
  entries(answer).filter((e) => e.resource?.meta?.source === source);
export const issueCodes = (answer: Answer): string[] =>
  ((answer.json['issue'] as Array<{ code?: string }> | undefined) ?? []).map((i) => i.code ?? '');
export const idsOf = (list: readonly BundleEntry[]): string[] => list.map((e) => e.resource?.id ?? '?');

/**
 * Soft checks: a test runs every check of its scenario and fails once at the end, listing each
 * failed check with its expectation and a summary of what was seen (the lead reads one report).
 */
export class Checks {
  private readonly failures: string[] = [];
  private readonly passed: string[] = [];

  constructor(private readonly scenario: string) {}

  check(name: string, ok: boolean, seen: unknown): boolean {
    if (ok) this.passed.push(name);
    else this.failures.push(`  ✗ ${name}\n      seen: ${JSON.stringify(seen)}`);
    return ok;
  }

  /** Throws when any check failed: the failed ones (with what was seen) and the ones that held. */
  done(): void {
    if (this.failures.length === 0) return;
    throw new Error(
      `${this.scenario}: ${this.failures.length} check(s) failed\n${this.failures.join('\n')}\n` +
        (this.passed.length === 0 ? '' : `  held: ${this.passed.join('; ')}`),
    );
  }
}

/** A spawned service as @tessera/testing startServiceProcess returns it. */
export interface ServiceHandle {
  readonly url: string;
  readonly process: { kill(signal: NodeJS.Signals): boolean };
  output(): string;
  terminate(timeoutMs?: number): Promise<number | string>;
}

/**
 * The @tessera/testing helpers the region needs, passed in by the spec: this module is compiled
 * with the tools (tsconfig.build.json), the testing library only under Jest.
 */
export interface RegionTools {
  startServiceProcess(
    name: string,
    port: number,
    env: Readonly<Record<string, string>>,
    timeoutMs: number,
  ): Promise<ServiceHandle>;
  freePort(): Promise<number>;
  dropTestDatabase(settings: PostgresSettings, database: string): Promise<void>;
  workspacePath(relative: string): string;
}

export interface RegionOptions {
  readonly run: string;
  readonly suffix: string;
  readonly tools: RegionTools;
  /** Extra environment per service (e.g. short notification bounds for a test). */
  readonly env?: Partial<Record<ServiceName, Readonly<Record<string, string>>>>;
}

/** The running region and what a test calls it with. */
export class Region {
  readonly services = new Map<ServiceName, ServiceHandle>();
  exchangeUrl = '';
  gatewayUrl = '';
  mpiUrl = '';
  consentUrl = '';
  sharedMllpPort = 0;
  staPort = 0;
  rccPort = 0;
  seedFile = '';
  lastStep = 'start';
  lastAnswer = '';
  private readonly tokens = new Map<string, { token: string; until: number }>();
  private readonly launch = new Map<ServiceName, { port: number; env: Record<string, string> }>();
  private baseline = new Map<string, Map<number, string>>();

  private readonly tools: RegionTools;

  constructor(readonly options: RegionOptions) {
    this.tools = options.tools;
  }

  dbName(service: ServiceName): string {
    return `tessera_${DB_OF[service]}_test_${this.options.run}`;
  }

  /** Writes the test institutions seed: the demo region's, with both feeds on allow-listed ports of their own. */
  writeSeed(dir: string): string {
    const demo = parse(
      readFileSync(this.tools.workspacePath('deploy/demo-region/institutions.yaml'), 'utf8'),
    ) as {
      region: string;
      institutions: Array<{ id: string; feed: Record<string, unknown> }>;
    };
    for (const institution of demo.institutions) {
      if (institution.id === 'st-aurelia')
        institution.feed = { ...institution.feed, port: this.staPort, allowedAddresses: [STA_ADDRESS] };
      if (institution.id === 'riverside')
        institution.feed = { ...institution.feed, port: this.rccPort, allowedAddresses: [RCC_ADDRESS] };
    }
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'institutions.yaml');
    writeFileSync(file, stringify(demo));
    return file;
  }

  async start(): Promise<void> {
    const ports = Object.fromEntries(
      await Promise.all(SERVICES.map(async (s) => [s, await this.tools.freePort()] as const)),
    ) as Record<ServiceName, number>;
    this.sharedMllpPort = await this.tools.freePort();
    this.staPort = await this.tools.freePort();
    this.rccPort = await this.tools.freePort();
    this.exchangeUrl = `http://127.0.0.1:${ports.exchange}`;
    this.seedFile = this.writeSeed(this.tools.workspacePath(`.tessera/e2e-trust/${this.options.run}`));
    const common = {
      KAFKA_GROUP_SUFFIX: this.options.suffix,
      KAFKA_GROUP_START: 'latest',
      AUTH_ISSUER: this.exchangeUrl,
      OTEL_SDK_DISABLED: 'true',
    };
    const extra: Record<ServiceName, Record<string, string>> = {
      exchange: {
        EXCHANGE_PUBLIC_BASE_URL: this.exchangeUrl,
        EXCHANGE_MPI_URL: `http://127.0.0.1:${ports.mpi}`,
        EXCHANGE_REGISTRY_URL: `http://127.0.0.1:${ports['document-registry']}`,
        EXCHANGE_CONSENT_URL: `http://127.0.0.1:${ports.consent}`,
        EXCHANGE_TOKEN_REQUESTS_PER_SECOND: '500',
      },
      'interop-gateway': { MLLP_PORT: String(this.sharedMllpPort), INSTITUTIONS_SEED_FILE: this.seedFile },
      mpi: { MPI_NATIONAL_ID_PROFILE: 'synthetic' },
      consent: {},
      'document-registry': {},
    };
    const started = await Promise.allSettled(
      SERVICES.map(async (s) => {
        const env = { ...common, ...extra[s], ...(this.options.env?.[s] ?? {}), DB_NAME: this.dbName(s) };
        this.launch.set(s, { port: ports[s], env });
        const service = await this.tools.startServiceProcess(s, ports[s], env, 120_000);
        this.services.set(s, service);
      }),
    );
    const failures = started.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failures.length > 0)
      throw new Error(
        `services did not start:\n${failures.map((f) => String(f.reason).slice(0, 3000)).join('\n')}`,
      );
    this.gatewayUrl = this.services.get('interop-gateway')?.url ?? '';
    this.mpiUrl = this.services.get('mpi')?.url ?? '';
    this.consentUrl = this.services.get('consent')?.url ?? '';
    await this.waitForConsumerGroups();
    this.baseline = await this.endOffsets(['hie.patient', 'hie.mpi.link']);
  }

  /** Stops the services; on failure keeps their logs under .tessera/e2e-logs/<run>. Drops databases, groups, topics. */
  async stop(failed: boolean): Promise<void> {
    const codes = await Promise.all(
      [...this.services].map(async ([name, service]) => [name, await service.terminate()] as const),
    );
    if (failed || codes.some(([, code]) => code !== 0)) {
      const dir = this.tools.workspacePath(`.tessera/e2e-logs/${this.options.run}`);
      mkdirSync(dir, { recursive: true });
      for (const [name, service] of this.services)
        writeFileSync(path.join(dir, `${name}.log`), service.output());
      process.stderr.write(
        `trust-model: last step "${this.lastStep}", last answer ${this.lastAnswer}; exits ${JSON.stringify(codes)}; logs in ${dir}\n`,
      );
    }
    for (const s of SERVICES) await this.dropDatabase(this.dbName(s));
    if (this.seedFile !== '') rmSync(path.dirname(this.seedFile), { recursive: true, force: true });
    await this.removeRunGroupsAndTopics();
  }

  /** kill -9 of one service (no drain, no goodbye), then the same service started again on its port. */
  async crashAndRestart(service: ServiceName): Promise<void> {
    const handle = this.services.get(service);
    const launch = this.launch.get(service);
    if (handle === undefined || launch === undefined) throw new Error(`${service} is not running`);
    handle.process.kill('SIGKILL');
    await handle.terminate(5_000);
    this.services.set(
      service,
      await this.tools.startServiceProcess(service, launch.port, launch.env, 120_000),
    );
  }

  dropDatabase(name: string): Promise<void> {
    return this.tools.dropTestDatabase(loadConfig(postgresConfig), name);
  }

  remember(step: string, answer: Answer): Answer {
    this.lastStep = step;
    this.lastAnswer = JSON.stringify(summary(answer));
    return answer;
  }

  /** A token of a demo client (its registered scopes unless `scope` is given), cached until shortly before expiry. */
  async token(client: string, scope?: string): Promise<string> {
    const key = `${client} ${scope ?? ''}`;
    const cached = this.tokens.get(key);
    if (cached !== undefined && cached.until > Date.now()) return cached.token;
    const { status, body } = await this.requestToken(client, scope);
    const accessToken = body['access_token'];
    if (status !== 200 || typeof accessToken !== 'string')
      throw new Error(`no token for ${client}: HTTP ${status} ${JSON.stringify(body['error'] ?? '')}`);
    const expiresIn = typeof body['expires_in'] === 'number' ? body['expires_in'] : 300;
    this.tokens.set(key, { token: accessToken, until: Date.now() + (expiresIn - 30) * 1000 });
    return accessToken;
  }

  get tokenEndpoint(): string {
    return `${this.exchangeUrl}/auth/token`;
  }

  /** A fresh client assertion of a demo client (signed with its demo key). */
  assertion(client: string): Promise<string> {
    return signClientAssertion(
      client,
      this.tokenEndpoint,
      readClientKey(this.tools.workspacePath(DEMO_KEYS_DIR), client),
    );
  }

  /** POST /auth/token with a fresh assertion (or the one given). */
  async requestToken(
    client: string,
    scope?: string,
    assertion?: string,
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const scopes = scope ?? registeredScopes(this.tools.workspacePath(DEMO_CLIENTS_FILE), client)?.join(' ');
    const response = await fetch(this.tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: tokenRequestBody(assertion ?? (await this.assertion(client)), scopes),
      signal: AbortSignal.timeout(10_000),
    });
    let body: Record<string, unknown> = {};
    try {
      body = (await response.json()) as Record<string, unknown>;
    } catch {
      // not JSON: the status tells
    }
    return { status: response.status, body };
  }

  /** A call as `client` (null: no token) to the exchange (a path) or any service (a full URL). */
  async call(client: string | null, url: string, init: CallOptions = {}): Promise<Answer> {
    const headers: Record<string, string> = { accept: 'application/fhir+json', ...init.headers };
    if (init.bearer !== undefined) headers['authorization'] = `Bearer ${init.bearer}`;
    else if (client !== null) headers['authorization'] = `Bearer ${await this.token(client)}`;
    if (init.purpose !== undefined) headers['x-tessera-purpose-of-use'] = init.purpose;
    const body = init.rawBody ?? (init.body === undefined ? undefined : JSON.stringify(init.body));
    if (body !== undefined) headers['content-type'] ??= 'application/fhir+json';
    const response = await fetch(url.startsWith('http') ? url : `${this.exchangeUrl}${url}`, {
      method: init.method ?? 'GET',
      headers,
      ...(body === undefined ? {} : { body }),
      signal: AbortSignal.timeout(15_000),
    });
    const bytes = Buffer.from(await response.arrayBuffer());
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
    } catch {
      // not JSON (document content)
    }
    return { status: response.status, json, bytes, headers: response.headers };
  }

  /** Polls `probe` until `done`; on timeout fails with the step and the summary of the last answer. */
  async until(
    step: string,
    probe: () => Promise<Answer>,
    done: (a: Answer) => boolean,
    timeoutMs = 90_000,
  ): Promise<Answer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const answer = this.remember(step, await probe());
      if (done(answer)) return answer;
      if (Date.now() > deadline)
        throw new Error(`${step}: not reached within ${timeoutMs} ms; last answer ${this.lastAnswer}`);
      await new Promise((r) => setTimeout(r, 750));
    }
  }

  documents(client: string, patient: string, purpose = 'TREAT', headers: Record<string, string> = {}) {
    return this.call(client, `/fhir/DocumentReference?patient=${encodeURIComponent(patient)}&_count=50`, {
      purpose,
      headers,
    });
  }

  pix(client: string, sourceIdentifier: string): Promise<Answer> {
    return this.call(
      client,
      `/fhir/Patient/$ihe-pix?sourceIdentifier=${encodeURIComponent(sourceIdentifier)}`,
      {
        purpose: 'TREAT',
      },
    );
  }

  /**
   * The enterprise id the MPI links a source record to, asked as a regional operator (mpi.review):
   * an institution's own PIXm no longer shows other institutions' identifiers of a person whose
   * consent restricts sharing, so only an operator can see that two records were linked.
   */
  async enterpriseIdOf(system: string, value: string): Promise<string | null> {
    const answer = await this.call(
      'ops-console',
      `${this.mpiUrl}/mpi/links/history?system=${encodeURIComponent(system)}&value=${encodeURIComponent(value)}`,
    );
    const eid = answer.status === 200 ? answer.json['enterpriseId'] : null;
    return typeof eid === 'string' ? eid : null;
  }

  /** The gateway ledger rows with this MSH-10 (operator token with ledger.read). */
  async ledger(controlId: string): Promise<Array<Record<string, unknown>>> {
    const answer = this.remember(
      `ledger ${controlId}`,
      await this.call(
        'ops-console',
        `${this.gatewayUrl}/ledger/messages?controlId=${encodeURIComponent(controlId)}`,
      ),
    );
    return (answer.json['items'] as Array<Record<string, unknown>> | undefined) ?? [];
  }

  async ledgerDetail(id: string): Promise<Record<string, unknown>> {
    return (await this.call('ops-console', `${this.gatewayUrl}/ledger/messages/${id}`)).json;
  }

  /** Waits until the gateway's ledger row for `controlId` reached one of `states`; returns it. */
  async ledgerState(
    controlId: string,
    states: readonly string[],
    timeoutMs = 60_000,
  ): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const [row] = await this.ledger(controlId);
      const state = row?.['state'];
      if (row !== undefined && typeof state === 'string' && states.includes(state)) return row;
      if (Date.now() > deadline)
        throw new Error(
          `ledger row ${controlId}: state ${JSON.stringify(row?.['state'] ?? 'none')}, expected ${states.join('/')}`,
        );
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /**
   * Barrier: the consent service's consumers of hie.patient (consent.patient.<suffix>: holders and
   * PD1-12) and hie.mpi.link (consent.links.<suffix>: which person a record belongs to) have
   * committed past every message on those topics now (partitions unchanged since the run started
   * count as done). Commits follow processing, so what was published before is applied.
   */
  async consentCaughtUp(timeoutMs = 60_000): Promise<void> {
    await this.caughtUp(
      [
        { topic: 'hie.patient', group: `consent.patient.${this.options.suffix}` },
        { topic: 'hie.mpi.link', group: `consent.links.${this.options.suffix}` },
      ],
      timeoutMs,
    );
  }

  /** Waits until each (topic, group of this run) has committed everything on the topic now. */
  async caughtUp(
    pairs: readonly { readonly topic: string; readonly group: string }[],
    timeoutMs = 60_000,
  ): Promise<void> {
    const targets = await this.endOffsets(pairs.map((p) => p.topic));
    const kafka = this.admin();
    await kafka.connect();
    try {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const behind: string[] = [];
        for (const { topic, group } of pairs) {
          const start = this.baseline.get(topic) ?? new Map<number, string>();
          const [committed] = await kafka.fetchOffsets({ groupId: group, topics: [topic] });
          const at = new Map((committed?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
          for (const [partition, high] of targets.get(topic) ?? new Map<number, string>()) {
            if (start.get(partition) !== high && (at.get(partition) ?? -1n) < BigInt(high))
              behind.push(`${group} ${topic}[${partition}]`);
          }
        }
        if (behind.length === 0) return;
        if (Date.now() > deadline) throw new Error(`consent consumers behind: ${behind.join(', ')}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    } finally {
      await kafka.disconnect();
    }
  }

  /** How many records a topic holds now (sum of its partitions' end offsets). */
  async recordsOn(topic: string): Promise<bigint> {
    const ends = (await this.endOffsets([topic])).get(topic) ?? new Map<number, string>();
    return [...ends.values()].reduce((sum, high) => sum + BigInt(high), 0n);
  }

  private async endOffsets(topics: readonly string[]): Promise<Map<string, Map<number, string>>> {
    const kafka = this.admin();
    await kafka.connect();
    try {
      const out = new Map<string, Map<number, string>>();
      for (const topic of topics) {
        const offsets = await kafka.fetchTopicOffsets(topic);
        out.set(topic, new Map(offsets.map((o) => [o.partition, o.high])));
      }
      return out;
    } finally {
      await kafka.disconnect();
    }
  }

  private admin(): Admin {
    return new Kafka({
      clientId: `trust-${this.options.run}`,
      brokers: [...loadConfig(kafkaConfig).KAFKA_BROKERS],
      logLevel: logLevel.NOTHING,
    }).admin();
  }

  /** Every consumer group of the spawned services (from /health) is Stable with members: `latest` is safe now. */
  private waitForConsumerGroups(): Promise<void> {
    const urls = [...this.services.values()].map((s) => s.url);
    return waitForRunGroups(urls, this.options.suffix, () => this.admin());
  }

  /** The run's consumer groups and the retry/DLQ topics the suffixed groups created (the broker is shared). */
  private removeRunGroupsAndTopics(): Promise<void> {
    return removeRunGroups(this.options.suffix, () => this.admin());
  }
}

/** What an MLLP exchange from a given source address produced. */
export interface MllpOutcome {
  readonly acks: Buffer[];
  /** The peer closed the connection (or reset it) before every ACK arrived. */
  readonly closedEarly: boolean;
  readonly error?: string;
}

/**
 * Sends HL7 messages over one MLLP connection from `localAddress` (e.g. 127.0.0.2) and collects
 * the ACKs. Never rejects: a closed or reset connection is an outcome (`closedEarly`), so tests can
 * assert on it; resolves after `timeoutMs` with whatever arrived.
 */
export function mllpFrom(
  port: number,
  payloads: readonly Buffer[],
  { localAddress, timeoutMs = 20_000 }: { localAddress: string; timeoutMs?: number },
): Promise<MllpOutcome> {
  return new Promise<MllpOutcome>((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress });
    const decoder = new MllpFrameDecoder({ maxFrameBytes: 1 << 20 });
    const acks: Buffer[] = [];
    let settled = false;
    const finish = (closedEarly: boolean, error?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ acks, closedEarly, ...(error === undefined ? {} : { error }) });
    };
    const timer = setTimeout(
      () => finish(false, `only ${acks.length} of ${payloads.length} ACKs within ${timeoutMs} ms`),
      timeoutMs,
    );
    socket.on('connect', () => {
      for (const payload of payloads) socket.write(encodeMllpFrame(payload));
    });
    socket.on('data', (chunk: Buffer) => {
      for (const event of decoder.push(chunk)) if (event.kind === 'frame') acks.push(event.payload);
      if (acks.length >= payloads.length) finish(false);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => finish(true, error.code ?? error.message));
    socket.on('close', () => finish(true));
  });
}

/** MSA-1/MSA-2 and the ERR segments' locations (ERR-2) and codes (ERR-3.1, table 0357) of an ACK. */
export function ackOf(ack: Buffer | undefined): {
  code: string;
  controlId: string;
  errLocations: string[];
  errCodes: string[];
  errTables: string[];
} {
  const lines = (ack?.toString('utf8') ?? '').split('\r');
  const msa = (lines.find((l) => l.startsWith('MSA|')) ?? '').split('|');
  const errs = lines.filter((l) => l.startsWith('ERR|')).map((l) => l.split('|'));
  return {
    code: msa[1] ?? '',
    controlId: msa[2] ?? '',
    errLocations: errs.map((e) => e[2] ?? ''),
    errCodes: errs.map((e) => (e[3] ?? '').split('^')[0] ?? ''),
    errTables: errs.map((e) => (e[3] ?? '').split('^')[2] ?? ''),
  };
}

/**
 * Starts a compiled gateway with `env` and reports how it ended within `timeoutMs`: its exit code,
 * or 'healthy' when it answered /health instead (then it is stopped). The log tail is returned
 * for the failure message (it carries no patient data: no message is sent).
 */
export async function bootGateway(
  tools: Pick<RegionTools, 'freePort' | 'workspacePath'>,
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<{ outcome: number | string; log: string }> {
  const { workspacePath } = tools;
  const httpPort = await tools.freePort();
  const child = spawn(
    'node',
    [
      '--import',
      './dist/apps/interop-gateway/src/instrumentation.js',
      workspacePath('dist/apps/interop-gateway/src/main.js'),
    ],
    {
      cwd: workspacePath('.'),
      env: {
        ...process.env,
        HTTP_PORT: String(httpPort),
        LOG_LEVEL: 'info',
        OTEL_SDK_DISABLED: 'true',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let log = '';
  child.stdout.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  let exit: number | string | undefined;
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => {
      exit = code ?? signal ?? 'unknown';
      resolve(exit);
    }),
  );
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exit !== undefined) return { outcome: exit, log: log.slice(-1500) };
    const healthy = await fetch(`http://127.0.0.1:${httpPort}/health`, {
      signal: AbortSignal.timeout(2_000),
    }).then(
      (r) => r.status === 200,
      () => false,
    );
    if (healthy || Date.now() > deadline) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
      return { outcome: healthy ? 'healthy' : 'no exit and no /health', log: log.slice(-1500) };
    }
    await new Promise((r) => setTimeout(r, 300));
  }
}
