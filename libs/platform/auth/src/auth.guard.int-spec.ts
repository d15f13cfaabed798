import type { Server } from 'node:http';
import { Controller, Get, Post, UseFilters } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Registry } from 'prom-client';
import request from 'supertest';
import {
  HealthController,
  HealthRegistry,
  LOGGER,
  METRICS_REGISTRY,
  OperationOutcomeFilter,
  SERVICE_OPTIONS,
} from '@tessera/platform-service';
import { startTestIssuer } from '@tessera/testing';
import type { TestIssuer } from '@tessera/testing';
import { AccessTokenVerifier } from './access-token.verifier';
import { AuthModule } from './auth.module';
import {
  CurrentPrincipal,
  Public,
  RequireRoles,
  RequireRolesOrService,
  RequireScopes,
  RequireService,
} from './auth.decorators';
import { AUTH_REJECTION_LISTENER } from './auth.tokens';
import type { AuthRejection } from './auth.tokens';
import { Audiences } from './principal';
import type { Principal } from './principal';

@Controller()
@UseFilters(OperationOutcomeFilter)
class ProbeController {
  @Get('open')
  @Public()
  open(@CurrentPrincipal() principal: Principal | undefined) {
    return { principal: principal ?? null };
  }

  @Get('docs')
  @RequireScopes('DocumentReference', 'search')
  docs(@CurrentPrincipal() principal: Principal) {
    return { clientId: principal.clientId, institutionId: principal.institutionId };
  }

  @Post('docs')
  @RequireScopes('system/DocumentReference.write')
  write() {
    return { ok: true };
  }

  @Get('consent')
  @RequireRolesOrService('consent.read')
  consent(@CurrentPrincipal() principal: Principal) {
    return { kind: principal.kind };
  }

  @Get('ledger')
  @RequireRoles('ledger.read', 'ledger.replay')
  ledger() {
    return { ok: true };
  }

  @Get('internal')
  @RequireService()
  internal() {
    return { ok: true };
  }

  @Get('forgotten')
  forgotten() {
    return { leaked: true };
  }
}

describe('AuthGuard (Nest app, JWKS fetched from a test issuer over HTTP)', () => {
  let issuer: TestIssuer;
  let app: INestApplication;
  const rejections: AuthRejection[] = [];
  const logged: unknown[] = [];

  beforeAll(async () => {
    issuer = await startTestIssuer();
    const moduleRef = await Test.createTestingModule({
      imports: [
        AuthModule.forRoot({
          audience: [Audiences.exchange, Audiences.operator, Audiences.internal],
          settings: { AUTH_ISSUER: issuer.issuer, AUTH_JWKS_URL: issuer.jwksUrl },
        }),
      ],
      controllers: [ProbeController, HealthController],
      providers: [
        {
          provide: AUTH_REJECTION_LISTENER,
          useValue: { onAuthRejected: (r: AuthRejection) => void rejections.push(r) },
        },
        {
          provide: LOGGER,
          useValue: {
            error: (...args: unknown[]) => logged.push(args),
            warn: () => undefined,
            info: () => undefined,
          },
        },
        { provide: SERVICE_OPTIONS, useValue: { name: 'auth-probe' } },
        { provide: METRICS_REGISTRY, useValue: new Registry() },
        HealthRegistry,
      ],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
  });

  const http = (): Server => app.getHttpServer() as Server;

  afterAll(async () => {
    await app.close();
    await issuer.close();
  });

  const institution = (scopes: string[]) =>
    issuer.mint({ kind: 'institution', clientId: 'sta-ehr', institutionId: 'st-aurelia', scopes });
  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

  it('lets a covered institution call through and injects its principal', async () => {
    const res = await request(http())
      .get('/docs')
      .set(bearer(await institution(['system/DocumentReference.rs'])));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ clientId: 'sta-ehr', institutionId: 'st-aurelia' });
  });

  it('401 + WWW-Authenticate + OperationOutcome for missing, expired, forged and wrong-audience tokens', async () => {
    const cases: Array<[string | undefined, string]> = [
      [undefined, 'missing_token'],
      [
        await issuer.mint({
          kind: 'institution',
          clientId: 'sta-ehr',
          institutionId: 'st-aurelia',
          scopes: ['system/*.read'],
          expiresInSeconds: -120,
        }),
        'expired',
      ],
      [
        await issuer.mintWithForeignKey({
          kind: 'institution',
          clientId: 'sta-ehr',
          institutionId: 'st-aurelia',
          scopes: ['system/*.read'],
        }),
        'bad_signature',
      ],
      [
        await issuer.mint({
          kind: 'institution',
          clientId: 'sta-ehr',
          institutionId: 'st-aurelia',
          scopes: ['system/*.read'],
          audience: 'tessera:somewhere-else',
        }),
        'wrong_audience',
      ],
      [
        await issuer.mint({
          kind: 'institution',
          clientId: 'sta-ehr',
          institutionId: 'st-aurelia',
          scopes: ['system/*.read'],
          issuer: 'http://evil.test',
        }),
        'wrong_issuer',
      ],
    ];
    for (const [token, reason] of cases) {
      rejections.length = 0;
      const req = request(http()).get('/docs');
      const res = token === undefined ? await req : await req.set(bearer(token));
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
      expect(res.body.resourceType).toBe('OperationOutcome');
      expect(res.body.issue[0].code).toBe('login');
      if (token !== undefined) expect(JSON.stringify(res.body)).not.toContain(token.split('.')[1]);
      expect(rejections).toEqual([
        {
          reason,
          status: 401,
          path: '/docs',
          method: 'GET',
          ...(reason === 'missing_token' || reason === 'bad_signature' ? {} : { clientId: 'sta-ehr' }),
        },
      ]);
    }
  });

  it('403 OperationOutcome when the scope does not cover the interaction', async () => {
    rejections.length = 0;
    const res = await request(http())
      .post('/docs')
      .set(bearer(await institution(['system/DocumentReference.read'])));
    expect(res.status).toBe(403);
    expect(res.body.issue[0]).toMatchObject({ code: 'forbidden' });
    expect(rejections).toEqual([
      { reason: 'insufficient_scope', status: 403, clientId: 'sta-ehr', path: '/docs', method: 'POST' },
    ]);
  });

  it('roles: operators with a listed role; the service token only where the route allows it', async () => {
    const op = await issuer.mint({
      kind: 'operator',
      clientId: 'ops-console',
      roles: ['consent.read', 'ledger.replay'],
    });
    const svc = await issuer.mint({ kind: 'service', clientId: 'exchange' });
    const server = http();
    expect((await request(server).get('/consent').set(bearer(op))).body).toEqual({ kind: 'operator' });
    expect((await request(server).get('/consent').set(bearer(svc))).body).toEqual({ kind: 'service' });
    expect((await request(server).get('/ledger').set(bearer(op))).status).toBe(200);
    expect((await request(server).get('/ledger').set(bearer(svc))).status).toBe(403);
    expect(
      (
        await request(server)
          .get('/consent')
          .set(bearer(await institution(['system/*.*'])))
      ).status,
    ).toBe(403);
    const analyst = await issuer.mint({
      kind: 'operator',
      clientId: 'rcc-analyst',
      institutionId: 'riverside',
      roles: ['ledger.read'],
    });
    expect((await request(server).get('/consent').set(bearer(analyst))).status).toBe(403);
    // an institution-bound operator holding a regional role is refused with a clear outcome
    const bound = await issuer.mint({
      kind: 'operator',
      clientId: 'rcc-bound',
      institutionId: 'riverside',
      roles: ['consent.read', 'ledger.read'],
    });
    const refused = await request(server).get('/consent').set(bearer(bound));
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'forbidden' }] });
    expect(refused.body.issue[0].diagnostics).toMatch(/regional operator client/);
    expect((await request(server).get('/ledger').set(bearer(bound))).status).toBe(200);
  });

  it('service routes: only the exchange service token', async () => {
    const server = http();
    expect(
      (
        await request(server)
          .get('/internal')
          .set(bearer(await issuer.mint({ kind: 'service', clientId: 'exchange' })))
      ).status,
    ).toBe(200);
    const op = await issuer.mint({ kind: 'operator', clientId: 'ops-console', roles: ['platform.admin'] });
    expect((await request(server).get('/internal').set(bearer(op))).status).toBe(403);
    expect(
      (
        await request(server)
          .get('/internal')
          .set(bearer(await institution(['system/*.*'])))
      ).status,
    ).toBe(403);
  });

  it('refuses a route without an access policy even to a fully privileged caller, and logs it', async () => {
    logged.length = 0;
    const op = await issuer.mint({ kind: 'operator', clientId: 'ops-console', roles: ['platform.admin'] });
    const res = await request(http()).get('/forgotten').set(bearer(op));
    expect(res.status).toBe(403);
    expect(res.body.leaked).toBeUndefined();
    expect(logged).toHaveLength(1);
    expect((await request(http()).get('/forgotten')).status).toBe(401);
  });

  it('public routes, /health, /health/live and /metrics need no token', async () => {
    const server = http();
    expect((await request(server).get('/open')).body).toEqual({ principal: null });
    expect((await request(server).get('/health')).status).toBe(200);
    expect((await request(server).get('/health/live')).status).toBe(200);
    expect((await request(server).get('/metrics')).status).toBe(200);
  });

  it('fetches the JWKS once and caches it', () => {
    expect(issuer.jwksRequests()).toBe(1);
  });
});

describe('AccessTokenVerifier with a remote JWKS', () => {
  it('an unknown kid is unknown_key (401); unreachable issuer keys are issuer_keys_unavailable (503)', async () => {
    const issuer = await startTestIssuer();
    const other = await startTestIssuer();
    try {
      const verifier = new AccessTokenVerifier({
        issuer: issuer.issuer,
        audience: Audiences.internal,
        keys: new URL(issuer.jwksUrl),
      });
      const svc = { kind: 'service', clientId: 'exchange' } as const;
      await expect(verifier.verify(await issuer.mint(svc))).resolves.toMatchObject({ kind: 'service' });
      // Signed by another issuer's key (a kid this JWKS does not have), claiming this issuer.
      const foreignKid = await other.mint({ ...svc, issuer: issuer.issuer });
      await expect(verifier.verify(foreignKid)).rejects.toMatchObject({ reason: 'unknown_key', status: 401 });

      const down = new AccessTokenVerifier({
        issuer: issuer.issuer,
        audience: Audiences.internal,
        keys: new URL(issuer.jwksUrl),
      });
      const token = await issuer.mint(svc);
      await issuer.close();
      await expect(down.verify(token)).rejects.toMatchObject({
        reason: 'issuer_keys_unavailable',
        status: 503,
      });
    } finally {
      await other.close();
      await issuer.close().catch(() => undefined);
    }
  });
});
