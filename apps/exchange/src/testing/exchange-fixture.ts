/**
 * The exchange under test with its fake upstreams and a small synthetic region: two institutions,
 * persons shared / opted out / unknown, items with and without sensitivity labels. Shared by the
 * exchange's int-specs (matrix, bad input, revocation).
 */
import { randomUUID } from 'node:crypto';
import { SUPPORTED_SCOPES } from '../auth/discovery.controller';
import { connectRedis } from '@tessera/platform-redis';
import type { RedisClient } from '@tessera/platform-redis';
import { loadConfig, redisConfig } from '@tessera/platform-config';
import { exportJWK, generateKeyPair } from 'jose';
import type { KeyLike } from 'jose';
import { FakeWorld, startFakeUpstreams } from './fake-upstreams';
import type { FakeServers } from './fake-upstreams';
import { createTestKeys, exchangeEnv, PLACEHOLDER_CLIENT_JWK } from './exchange-harness';
import type { TestKeys, TokenClaims } from './exchange-harness';

export const STA = { id: 'st-aurelia', system: 'urn:oid:2.16.840.1.113883.3.9999.1.1' };
export const RIV = { id: 'riverside', system: 'urn:oid:2.16.840.1.113883.3.9999.2.1' };
/** Every scope an institution can hold at the exchange. */
export const ALL_READ: string[] = [...SUPPORTED_SCOPES];

export function clientsYaml(run: string, tokenClientJwk: object = PLACEHOLDER_CLIENT_JWK): string {
  const client = (
    id: string,
    institution: string,
    purposes: string[],
    rate: number,
    jwk: object = PLACEHOLDER_CLIENT_JWK,
  ) => `  - client_id: ${id}
    kind: institution
    institution_id: ${institution}
    allowed_scopes: [${ALL_READ.join(', ')}]
    allowed_purposes_of_use: [${purposes.join(', ')}]
    rate_limit_per_second: ${rate}
    jwks:
      keys:
        - ${JSON.stringify(jwk)}
`;
  return `clients:\n${client(`sta-${run}`, STA.id, ['TREAT', 'ETREAT'], 1000)}${client(`riv-${run}`, RIV.id, ['TREAT'], 1000)}${client(`rl-${run}`, RIV.id, ['TREAT'], 3)}${client(`tok-${run}`, STA.id, ['TREAT'], 1000, tokenClientJwk)}${client(`tl-${run}`, STA.id, ['TREAT'], 1000)}`;
}

export interface Region {
  /** Shared person: records at both; default policy (region opt-out → shared). */
  readonly shared: string;
  /** Opted-out person: records at both. */
  readonly optedOut: string;
  /** Shared person for break-the-glass and revocation (fresh state). */
  readonly other: string;
  /** Held only by riverside, opted out: not discoverable for st-aurelia. */
  readonly riverOnly: string;
  /**
   * St Aurelia's patient who opted out there (directive `linkedDirective`, recorded by St Aurelia);
   * riverside holds a record linked to the person afterwards (by demographics). Family `LINKED_FAMILY`.
   */
  readonly linked: string;
  readonly linkedDirective: string;
  readonly docs: Readonly<Record<string, string>>;
  readonly contents: Readonly<Record<string, string>>;
}

export const FAMILY = `Zyx${randomUUID().slice(0, 6)}`;
export const LINKED_FAMILY = `Lnk${randomUUID().slice(0, 6)}`;

/** Seeds the fake MPI/registry/consent. Returns ids. */
export async function seedRegion(world: FakeWorld, run: string): Promise<Region> {
  const shared = randomUUID();
  const optedOut = randomUUID();
  const other = randomUUID();
  const docs: Record<string, string> = {};
  const contents: Record<string, string> = {};
  for (const [eid, tag] of [
    [shared, 's'],
    [optedOut, 'o'],
    [other, 'x'],
  ] as const) {
    world.addPerson(
      {
        enterpriseId: eid,
        family: FAMILY,
        identifiers: [
          { system: STA.system, value: `STA-${tag}-${run}` },
          { system: RIV.system, value: `RIV-${tag}-${run}` },
        ],
      },
      [STA.id, RIV.id],
    );
    const add = (
      key: string,
      resourceType: 'DocumentReference' | 'Encounter' | 'DiagnosticReport' | 'Observation',
      institution: string,
      labels: string[],
      day: number,
    ) => {
      const id = `${tag}-${key}-${run}`.slice(0, 64);
      const content = resourceType === 'DocumentReference' ? `content of ${id}` : undefined;
      world.items.push({
        resourceType,
        id,
        enterpriseId: eid,
        institution,
        labels,
        date: `2026-01-${String(day).padStart(2, '0')}`,
        ...(content === undefined ? {} : { content }),
      });
      docs[`${tag}.${key}`] = id;
      if (content !== undefined) contents[`${tag}.${key}`] = content;
    };
    add('sta-doc', 'DocumentReference', STA.id, [], 1);
    add('riv-doc', 'DocumentReference', RIV.id, [], 2);
    add('riv-psy', 'DocumentReference', RIV.id, ['PSY'], 3);
    add('riv-eth', 'DocumentReference', RIV.id, ['ETH'], 4);
    add('riv-enc', 'Encounter', RIV.id, [], 5);
    add('sta-enc', 'Encounter', STA.id, [], 6);
    add('riv-obs', 'Observation', RIV.id, [], 7);
    add('riv-dr', 'DiagnosticReport', RIV.id, [], 8);
  }
  await world.optOut(optedOut, RIV.id);
  const riverOnly = randomUUID();
  world.addPerson(
    { enterpriseId: riverOnly, family: FAMILY, identifiers: [{ system: RIV.system, value: `RIV-r-${run}` }] },
    [RIV.id],
  );
  world.items.push({
    resourceType: 'DocumentReference',
    id: `r-riv-doc-${run}`.slice(0, 64),
    enterpriseId: riverOnly,
    institution: RIV.id,
    labels: [],
    date: '2026-01-09',
    content: `river only ${run}`,
  });
  await world.optOut(riverOnly, RIV.id);
  const linked = randomUUID();
  world.addPerson(
    {
      enterpriseId: linked,
      family: LINKED_FAMILY,
      identifiers: [
        { system: STA.system, value: `STA-l-${run}` },
        { system: RIV.system, value: `RIV-l-${run}` },
      ],
    },
    [STA.id, RIV.id],
  );
  for (const [key, institution] of [
    ['sta-doc', STA.id],
    ['riv-doc', RIV.id],
  ] as const) {
    const id = `l-${key}-${run}`.slice(0, 64);
    world.items.push({
      resourceType: 'DocumentReference',
      id,
      enterpriseId: linked,
      institution,
      labels: [],
      date: '2026-01-10',
      content: `content of ${id}`,
    });
    docs[`l.${key}`] = id;
    contents[`l.${key}`] = `content of ${id}`;
  }
  const linkedDirective = (await world.optOut(linked, STA.id)).id;
  return { shared, optedOut, other, riverOnly, linked, linkedDirective, docs, contents };
}

export interface ExchangeUnderTest {
  readonly url: string;
  output(): string;
  stop(): Promise<void>;
}

interface CollectedRecord {
  readonly value: string | null;
}

/**
 * What the fixture needs from libs/testing, passed in by the int-spec (this file is compiled with
 * the app, which must not pull jest-typed libs/testing into the build).
 */
export interface TestingKit {
  uniqueTestId(prefix: string): string;
  freePort(): Promise<number>;
  startServiceProcess(
    name: string,
    port: number,
    env: Readonly<Record<string, string>>,
    timeoutMs?: number,
  ): Promise<{ url: string; output(): string; terminate(): Promise<unknown> }>;
  /** A TopicWatcher on hie.audit opened now. */
  openAuditWatcher(): Promise<{
    readonly records: readonly CollectedRecord[];
    waitFor(
      p: (r: CollectedRecord) => boolean,
      count?: number,
      o?: { timeoutMs?: number },
    ): Promise<CollectedRecord[]>;
    close(): Promise<void>;
  }>;
  dropTestDatabase(database: string): Promise<void>;
}

export class ExchangeFixture {
  readonly run: string;
  readonly database: string;
  redis!: RedisClient;
  world!: FakeWorld;
  servers!: FakeServers;
  keys!: TestKeys;
  audit!: Awaited<ReturnType<TestingKit['openAuditWatcher']>>;
  region!: Region;
  /** Private key of the registered client `tok-<run>` (ES256), for the token endpoint. */
  tokenClientKey!: KeyLike;
  readonly exchanges: ExchangeUnderTest[] = [];

  constructor(private readonly kit: TestingKit) {
    this.run = kit.uniqueTestId('x');
    this.database = `tessera_exchange_test_${this.run}`;
  }

  async start(): Promise<void> {
    this.redis = await connectRedis(loadConfig(redisConfig), () => undefined, 'exchange-test');
    this.world = new FakeWorld(this.redis);
    this.servers = await startFakeUpstreams(this.world);
    const client = await generateKeyPair('ES256', { extractable: true });
    this.tokenClientKey = client.privateKey;
    const publicJwk = { ...(await exportJWK(client.publicKey)), kid: `tok-${this.run}`, alg: 'ES256' };
    this.keys = await createTestKeys(clientsYaml(this.run, publicJwk));
    this.audit = await this.kit.openAuditWatcher();
    this.region = await seedRegion(this.world, this.run);
  }

  /** One exchange process from dist (the way `npm start` runs it); same database, shared Redis. */
  async spawnExchange(extra: Record<string, string> = {}): Promise<ExchangeUnderTest> {
    const port = await this.kit.freePort();
    // Every replica of a fixture signs and verifies with the same key and names the same issuer.
    const issuer = this.exchanges[0]?.url ?? `http://127.0.0.1:${port}`;
    const env = exchangeEnv({
      port,
      database: this.database,
      keys: this.keys,
      ...this.upstreamUrls(),
      extra: { AUTH_ISSUER: issuer, ...extra },
    });
    const service = await this.kit.startServiceProcess('exchange', port, env, 90_000);
    const running: ExchangeUnderTest = {
      url: service.url,
      output: () => service.output(),
      stop: async () => void (await service.terminate()),
    };
    this.exchanges.push(running);
    return running;
  }

  upstreamUrls() {
    return {
      mpiUrl: this.servers.mpiUrl,
      registryUrl: this.servers.registryUrl,
      consentUrl: this.servers.consentUrl,
    };
  }

  /** The issuer every exchange of this fixture uses: the first one's URL (they share the key). */
  issuer(): string {
    const first = this.exchanges[0];
    if (first === undefined) throw new Error('no exchange started');
    return first.url;
  }

  token(claims: Partial<TokenClaims> & { institutionId?: string }): Promise<string> {
    return this.keys.mint(this.issuer(), {
      kind: 'institution',
      clientId: `sta-${this.run}`,
      institutionId: STA.id,
      scopes: ALL_READ,
      ...claims,
    });
  }

  auditOf(predicate: (data: AuditData) => boolean, timeoutMs = 15_000): Promise<AuditData[]> {
    return this.audit
      .waitFor((r) => predicate(auditData(r)), 1, { timeoutMs })
      .then((records) => records.map(auditData));
  }

  async stop(): Promise<void> {
    for (const e of this.exchanges) await e.stop().catch(() => undefined);
    await this.audit?.close();
    await this.servers?.close();
    await this.redis?.close();
    await this.kit.dropTestDatabase(this.database).catch(() => undefined);
  }
}

export interface AuditData {
  readonly type: string;
  readonly subtype: string;
  readonly outcome: string;
  readonly outcomeDesc?: string;
  readonly agent: { clientId: string | null; institutionId: string | null; user?: string };
  readonly purposeOfUse?: string;
  readonly breakGlass: boolean;
  readonly patients: string[];
  readonly entities: { type: string; reference?: string; query?: string; sourceInstitution?: string }[];
  readonly hiddenCount?: number;
  readonly observer: string;
}

export function auditData(record: CollectedRecord): AuditData {
  return JSON.parse(record.value ?? '{}') as AuditData;
}
