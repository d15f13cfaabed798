import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import path from 'node:path';
import { Controller, Get, Global, Module } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, SignJWT } from 'jose';
import type { JWK, KeyLike } from 'jose';
import pino from 'pino';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { loadConfig, postgresConfig, redisConfig } from '@tessera/platform-config';
import {
  AccessTokenVerifier,
  Audiences,
  AuthModule,
  CurrentPrincipal,
  RequireRoles,
  RequireScopes,
  RequireService,
  SERVICE_ROLE_EXCHANGE,
  scopeCovers,
  splitScopes,
} from '@tessera/platform-auth';
import type { Principal } from '@tessera/platform-auth';
import { createDataSource } from '@tessera/platform-persistence';
import { connectRedis } from '@tessera/platform-redis';
import type { RedisClient } from '@tessera/platform-redis';
import { LOGGER, REDIS_CLIENT } from '@tessera/platform-service';
import {
  dropTestDatabase,
  freePort,
  prepareTestDatabase,
  TS_REGISTER_PATH,
  uniqueTestId,
  workspacePath,
} from '@tessera/testing';
import { migrations } from '../migrations';
import { ClientRegistry } from './client-registry.service';
import { ExchangeAuthModule } from './exchange-auth.module';
import { ServiceTokenMinter } from './service-token.minter';
import { EXCHANGE_VERIFICATION_KEY } from './signing-key';
import { TOKEN_AUDIT_HOOK } from './token-audit.hook';
import type { TokenIssued, TokenRejected } from './token-audit.hook';

const DATABASE = `tessera_exchange_test_${uniqueTestId('auth')}`;
const KEYS = path.resolve(__dirname, '../../../../deploy/demo-region/keys');
let baseUrl = '';
let TOKEN_ENDPOINT = '';
const FORM = 'application/x-www-form-urlencoded';

@Controller('probe')
class ProbeController {
  @Get('fhir')
  @RequireScopes('system/DocumentReference.read')
  fhir(@CurrentPrincipal() principal: Principal) {
    return principal;
  }

  @Get('ledger')
  @RequireRoles('ledger.read')
  ledger(@CurrentPrincipal() principal: Principal) {
    return principal;
  }

  @Get('internal')
  @RequireService()
  internal(@CurrentPrincipal() principal: Principal) {
    return principal;
  }
}

const issued: TokenIssued[] = [];
const rejected: TokenRejected[] = [];
let dataSource: DataSource;
let redis: RedisClient;

@Global()
@Module({
  providers: [
    { provide: LOGGER, useFactory: () => pino({ level: 'silent' }) },
    { provide: REDIS_CLIENT, useFactory: () => redis },
    { provide: DataSource, useFactory: () => dataSource },
    {
      provide: TOKEN_AUDIT_HOOK,
      useValue: {
        onTokenIssued: (e: TokenIssued) => void issued.push(e),
        onTokenRejected: (e: TokenRejected) => void rejected.push(e),
      },
    },
  ],
  exports: [LOGGER, REDIS_CLIENT, DataSource, TOKEN_AUDIT_HOOK],
})
class TestInfraModule {}

describe('exchange token endpoint + guard (real Postgres and Redis)', () => {
  let app: INestApplication;
  const http = (): Server => app.getHttpServer() as Server;

  beforeAll(async () => {
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    TOKEN_ENDPOINT = `${baseUrl}/auth/token`;
    process.env['EXCHANGE_PUBLIC_BASE_URL'] = baseUrl;
    const settings = await prepareTestDatabase(DATABASE, migrations);
    dataSource = await createDataSource({ settings, database: DATABASE }).initialize();
    redis = await connectRedis(loadConfig(redisConfig), () => undefined);
    const moduleRef = await Test.createTestingModule({
      imports: [
        TestInfraModule,
        AuthModule.forRoot({
          audience: [Audiences.exchange, Audiences.operator, Audiences.internal],
          verificationKey: EXCHANGE_VERIFICATION_KEY,
          settings: { AUTH_ISSUER: 'http://127.0.0.1:8080' },
        }),
        ExchangeAuthModule,
      ],
      controllers: [ProbeController],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(port, '127.0.0.1');
  });

  afterAll(async () => {
    await app?.close();
    await dataSource?.destroy();
    await redis?.close();
    await dropTestDatabase(loadConfig(postgresConfig), DATABASE);
  });

  async function demoKey(clientId: string): Promise<{ key: KeyLike; jwk: JWK }> {
    const jwk = JSON.parse(readFileSync(path.join(KEYS, `${clientId}.private.jwk`), 'utf8')) as JWK;
    return { key: (await importJWK(jwk, jwk.alg)) as KeyLike, jwk };
  }

  async function assertion(
    clientId: string,
    o: { jti?: string; aud?: string; key?: { key: KeyLike; jwk: JWK } } = {},
  ): Promise<string> {
    const { key, jwk } = o.key ?? (await demoKey(clientId));
    return new SignJWT({})
      .setProtectedHeader({ alg: jwk.alg!, kid: jwk.kid!, typ: 'JWT' })
      .setIssuer(clientId)
      .setSubject(clientId)
      .setAudience(o.aud ?? TOKEN_ENDPOINT)
      .setIssuedAt()
      .setExpirationTime('2m')
      .setJti(o.jti ?? randomUUID())
      .sign(key);
  }

  const tokenRequest = (form: Record<string, string>) =>
    request(http()).post('/auth/token').set('content-type', FORM).send(new URLSearchParams(form).toString());

  const clientCredentials = (clientAssertion: string, scope?: string) =>
    tokenRequest({
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: clientAssertion,
      ...(scope === undefined ? {} : { scope }),
    });

  it('publishes the SMART configuration and only the public signing key', async () => {
    const smart = await request(http()).get('/fhir/.well-known/smart-configuration');
    expect(smart.status).toBe(200);
    expect(smart.body).toMatchObject({
      token_endpoint: TOKEN_ENDPOINT,
      token_endpoint_auth_methods_supported: ['private_key_jwt'],
      token_endpoint_auth_signing_alg_values_supported: expect.arrayContaining(['RS384', 'ES384']),
      grant_types_supported: ['client_credentials'],
      capabilities: ['client-confidential-asymmetric', 'permission-v1', 'permission-v2'],
      scopes_supported: expect.arrayContaining(['system/DocumentReference.read', 'system/Consent.cu']),
    });
    const jwks = await request(http()).get('/.well-known/jwks.json');
    expect(jwks.status).toBe(200);
    expect(jwks.body.keys).toHaveLength(1);
    expect(jwks.body.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(jwks.body.keys[0].d).toBeUndefined();
  });

  it('seeded every client of clients.yaml', async () => {
    const rows = await dataSource.query<Array<{ client_id: string }>>(
      `SELECT client_id FROM oauth_clients ORDER BY client_id`,
    );
    expect(rows.map((r) => r.client_id)).toEqual(
      [
        'donghai-ehr',
        'north-valley-ehr',
        'ops-console',
        'privacy-officer',
        'riverside-analyst',
        'riverside-ehr',
        'sta-ehr',
      ].sort(),
    );
  });

  it('issues an institution token (requested ∩ registered scopes) that the guard accepts', async () => {
    issued.length = 0;
    const res = await clientCredentials(
      await assertion('sta-ehr'),
      'system/DocumentReference.read system/Observation.read system/Practitioner.read',
    );
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toMatchObject({
      token_type: 'bearer',
      expires_in: 300,
      scope: 'system/DocumentReference.read system/Observation.read',
    });
    const token = res.body.access_token as string;
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'ES256', typ: 'at+jwt' });
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({
      iss: 'http://127.0.0.1:8080',
      sub: 'sta-ehr',
      aud: Audiences.exchange,
      tessera_kind: 'institution',
      tessera_institution: 'st-aurelia',
      tessera_roles: [],
    });
    expect(claims.exp! - claims.iat!).toBe(300);
    expect(issued).toEqual([
      expect.objectContaining({ clientId: 'sta-ehr', kind: 'institution', tokenId: claims.jti }),
    ]);

    const probe = await request(http()).get('/probe/fhir').set('Authorization', `Bearer ${token}`);
    expect(probe.status).toBe(200);
    expect(probe.body).toMatchObject({
      kind: 'institution',
      clientId: 'sta-ehr',
      institutionId: 'st-aurelia',
    });
    expect((await request(http()).get('/probe/ledger').set('Authorization', `Bearer ${token}`)).status).toBe(
      403,
    );
  });

  it('verifies RS384 assertions (north-valley) too', async () => {
    const res = await clientCredentials(await assertion('north-valley-ehr'), 'system/Patient.read');
    expect(res.status).toBe(200);
    expect(decodeJwt(res.body.access_token as string).tessera_institution).toBe('north-valley');
  });

  it('operators get the operator audience and their roles; an interface analyst keeps its hospital', async () => {
    const ops = await clientCredentials(await assertion('ops-console'));
    expect(ops.status).toBe(200);
    const claims = decodeJwt(ops.body.access_token as string);
    expect(claims).toMatchObject({ aud: Audiences.operator, tessera_kind: 'operator' });
    expect(claims.tessera_roles).toEqual(
      expect.arrayContaining(['platform.admin', 'ledger.read', 'privacy.officer']),
    );
    expect(claims.tessera_institution).toBeUndefined();
    const bearer = `Bearer ${ops.body.access_token as string}`;
    expect((await request(http()).get('/probe/ledger').set('Authorization', bearer)).status).toBe(200);
    expect((await request(http()).get('/probe/fhir').set('Authorization', bearer)).status).toBe(403);
    expect((await request(http()).get('/probe/internal').set('Authorization', bearer)).status).toBe(403);

    const analyst = await clientCredentials(await assertion('riverside-analyst'));
    const probe = await request(http())
      .get('/probe/ledger')
      .set('Authorization', `Bearer ${analyst.body.access_token as string}`);
    expect(probe.body).toMatchObject({
      kind: 'operator',
      institutionId: 'riverside',
      roles: ['ledger.read'],
    });
  });

  it('refuses a replayed assertion (jti in Redis) with invalid_client and audits it', async () => {
    rejected.length = 0;
    const once = await assertion('riverside-ehr');
    expect((await clientCredentials(once, 'system/Patient.read')).status).toBe(200);
    const replay = await clientCredentials(once, 'system/Patient.read');
    expect(replay.status).toBe(401);
    expect(replay.body).toEqual({
      error: 'invalid_client',
      error_description: expect.stringMatching(/replay/),
    });
    expect(rejected).toEqual([{ clientId: 'riverside-ehr', reason: 'invalid_client', status: 401 }]);
  });

  it('refuses a wrong audience, a forged key and an unknown client', async () => {
    const wrongAud = await clientCredentials(
      await assertion('sta-ehr', { aud: 'http://127.0.0.1:8080/fhir' }),
      'system/Patient.read',
    );
    expect(wrongAud.status).toBe(401);
    expect(wrongAud.body.error).toBe('invalid_client');
    const forged = await generateKeyPair('ES384', { extractable: true });
    const real = await demoKey('sta-ehr');
    const forgedJwk: JWK = { ...(await exportJWK(forged.privateKey)), kid: real.jwk.kid!, alg: 'ES384' };
    const forgedRes = await clientCredentials(
      await assertion('sta-ehr', { key: { key: forged.privateKey, jwk: forgedJwk } }),
      'system/Patient.read',
    );
    expect(forgedRes.status).toBe(401);
    expect(forgedRes.body.error_description).toMatch(/signature/);
    const unknown = await clientCredentials(await assertion('nobody', { key: real }), 'system/Patient.read');
    expect(unknown.status).toBe(401);
    expect(JSON.stringify(unknown.body)).not.toContain('BEGIN');
  });

  it('never grants more than registered: a v2 request is narrowed to the registered permissions, v1 is all or nothing', async () => {
    // sta-ehr registers system/Consent.write (v1: c, u, d) and the exchange has no delete.
    const cud = await clientCredentials(await assertion('sta-ehr'), 'system/Consent.cud');
    expect(cud.status).toBe(200);
    expect(cud.body.scope).toBe('system/Consent.cu');
    expect(decodeJwt(cud.body.access_token as string).scope).toBe('system/Consent.cu');
    const cruds = await clientCredentials(
      await assertion('sta-ehr'),
      'system/Consent.cruds system/Patient.cruds system/Consent.write',
    );
    expect(cruds.status).toBe(200);
    expect(cruds.body.scope).toBe('system/Consent.crus system/Patient.rs system/Consent.cu');
    // a v1 request that lost its delete is answered in v2 letters: no granted scope claims d
    const write = await clientCredentials(await assertion('sta-ehr'), 'system/Consent.write');
    expect(write.status).toBe(200);
    expect(write.body.scope).toBe('system/Consent.cu');
    const granted = splitScopes(decodeJwt(write.body.access_token as string).scope as string);
    expect(granted).toEqual(['system/Consent.cu']);
    expect(scopeCovers(granted, 'Consent', 'delete')).toBe(false);
    expect(scopeCovers(granted, 'Consent', 'create') && scopeCovers(granted, 'Consent', 'update')).toBe(true);
    expect(scopeCovers(splitScopes(cruds.body.scope as string), 'Consent', 'delete')).toBe(false);
    const wider = await clientCredentials(await assertion('sta-ehr'), 'system/Patient.* system/Patient.d');
    expect(wider.status).toBe(400);
    expect(wider.body.error).toBe('invalid_scope');
  });

  it('RFC 6749 §5.2 errors for bad requests and scopes', async () => {
    const noScope = await clientCredentials(await assertion('sta-ehr'));
    expect(noScope.status).toBe(400);
    expect(noScope.body.error).toBe('invalid_scope');
    const unregistered = await clientCredentials(
      await assertion('sta-ehr'),
      'system/Practitioner.read system/*.read',
    );
    expect(unregistered.status).toBe(400);
    expect(unregistered.body.error).toBe('invalid_scope');
    const grant = await tokenRequest({ grant_type: 'password', username: 'x', password: 'y' });
    expect(grant.body.error).toBe('unsupported_grant_type');
    const missing = await tokenRequest({ grant_type: 'client_credentials' });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toBe('invalid_request');
    const json = await request(http()).post('/auth/token').send({ grant_type: 'client_credentials' });
    expect(json.status).toBe(400);
    expect(json.body.error).toBe('invalid_request');
  });

  it('a disabled client gets no token; rows not managed by the seed file are left alone', async () => {
    const registry = app.get(ClientRegistry);
    const { publicKey, privateKey } = await generateKeyPair('ES384', { extractable: true });
    const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES384' };
    const base = {
      clientId: 'test-clinic',
      kind: 'institution' as const,
      institutionId: 'st-aurelia',
      jwks: { keys: [jwk] },
      allowedScopes: ['system/Patient.read'],
      allowedPurposes: ['TREAT'],
      roles: [],
      rateLimitPerSecond: 5,
      enabled: true,
    };
    expect(await registry.seed([base])).toBe(1);
    expect(await registry.seed([base])).toBe(0); // unchanged: no write
    expect(await registry.clientPolicy('test-clinic')).toEqual({
      allowedPurposes: ['TREAT'],
      rateLimitPerSecond: 5,
    });
    const key = { key: privateKey, jwk: { ...jwk, d: 'unused' } };
    expect(
      (await clientCredentials(await assertion('test-clinic', { key }), 'system/Patient.read')).status,
    ).toBe(200);
    await registry.seed([{ ...base, enabled: false }]);
    expect(
      (await clientCredentials(await assertion('test-clinic', { key }), 'system/Patient.read')).status,
    ).toBe(401);
    await dataSource.query(
      `UPDATE oauth_clients SET managed_by = 'admin-api', enabled = true WHERE client_id = 'test-clinic'`,
    );
    expect(await registry.seed([{ ...base, enabled: false }])).toBe(0);
  });

  it('the service token minter mints a cached internal token the guard accepts on service routes', async () => {
    const minter = app.get(ServiceTokenMinter);
    const [a, b] = await Promise.all([minter.serviceToken(), minter.serviceToken()]);
    expect(a).toBe(b);
    expect(await minter.serviceToken()).toBe(a);
    const principal = await app.get(AccessTokenVerifier).verify(a);
    expect(principal).toMatchObject({
      kind: 'service',
      clientId: 'exchange',
      roles: [SERVICE_ROLE_EXCHANGE],
      institutionId: null,
    });
    expect(decodeJwt(a).aud).toBe(Audiences.internal);
    expect((await request(http()).get('/probe/internal').set('Authorization', `Bearer ${a}`)).status).toBe(
      200,
    );
    expect((await request(http()).get('/probe/fhir').set('Authorization', `Bearer ${a}`)).status).toBe(403);
  });

  it('tools/exchange-client gets a token with the demo key and calls a guarded route', async () => {
    const cli = (...args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          [
            '--require',
            TS_REGISTER_PATH,
            workspacePath('tools/exchange-client/exchange-client.ts'),
            ...args,
            '--url',
            baseUrl,
          ],
          { cwd: workspacePath('.'), timeout: 30_000 },
          (error, stdout, stderr) =>
            resolve({ code: error === null ? 0 : Number(error.code ?? 1), stdout, stderr }),
        );
      });
    const token = await cli('token', '--client', 'donghai-ehr');
    expect({ code: token.code, stderr: token.stderr }).toMatchObject({ code: 0 });
    const body = JSON.parse(token.stdout) as { access_token: string; scope: string };
    expect(decodeJwt(body.access_token)).toMatchObject({
      sub: 'donghai-ehr',
      tessera_institution: 'donghai-people',
    });
    expect(body.scope.split(' ')).toContain('system/DocumentReference.read');
    const get = await cli('get', '/probe/fhir', '--client', 'donghai-ehr', '--purpose', 'TREAT');
    expect({ code: get.code, stderr: get.stderr }).toEqual({
      code: 0,
      stderr: get.code === 0 ? get.stderr : '',
    });
    expect(JSON.parse(get.stdout)).toMatchObject({
      clientId: 'donghai-ehr',
      institutionId: 'donghai-people',
    });
    const refused = await cli('get', '/probe/ledger', '--client', 'donghai-ehr', '--purpose', 'TREAT');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('HTTP 403');
  });

  // Last: the burst fills this address's one-second window.
  it('limits token requests per network address (429 with Retry-After), then accepts again', async () => {
    const burst = await Promise.all(
      Array.from({ length: 30 }, () => tokenRequest({ grant_type: 'client_credentials' })),
    );
    const limited = burst.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThanOrEqual(10); // 20 per second by default
    expect(limited[0].headers['retry-after']).toBe('1');
    expect(limited[0].body).toMatchObject({ error: 'invalid_request' });
    await new Promise((r) => setTimeout(r, 2_100));
    const issued = await clientCredentials(await assertion('sta-ehr'), 'system/Patient.read');
    expect(issued.status).toBe(200);
  });
});
