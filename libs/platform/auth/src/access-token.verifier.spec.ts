import { randomUUID } from 'node:crypto';
import { generateKeyPair, SignJWT } from 'jose';
import type { KeyLike } from 'jose';
import { AccessTokenVerifier } from './access-token.verifier';
import { AuthFailure, principalFromClaims } from './access-token.claims';
import { Audiences, SERVICE_ROLE_EXCHANGE } from './principal';

const ISSUER = 'http://issuer.test';

interface MintOptions {
  readonly alg?: string;
  readonly typ?: string;
  readonly iss?: string;
  readonly aud?: string | string[];
  readonly exp?: number;
  readonly nbf?: number;
  readonly claims?: Record<string, unknown>;
  readonly key?: KeyLike;
}

describe('AccessTokenVerifier', () => {
  let key: KeyLike;
  let publicKey: KeyLike;
  let otherKey: KeyLike;
  let verifier: AccessTokenVerifier;

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256');
    key = pair.privateKey;
    publicKey = pair.publicKey;
    otherKey = (await generateKeyPair('ES256')).privateKey;
    verifier = new AccessTokenVerifier({
      issuer: ISSUER,
      audience: [Audiences.exchange],
      keys: publicKey,
      extraInstitutionAudiences: ['http://127.0.0.1:8080/fhir'],
    });
  });

  const now = () => Math.floor(Date.now() / 1000);
  const institution = {
    scope: 'system/DocumentReference.read system/Patient.rs',
    tessera_kind: 'institution',
    tessera_institution: 'st-aurelia',
    tessera_roles: [],
  };

  async function mint(options: MintOptions = {}): Promise<string> {
    const jwt = new SignJWT(options.claims ?? institution)
      .setProtectedHeader({ alg: options.alg ?? 'ES256', typ: options.typ ?? 'at+jwt' })
      .setIssuer(options.iss ?? ISSUER)
      .setSubject('sta-ehr')
      .setAudience(options.aud ?? Audiences.exchange)
      .setIssuedAt()
      .setExpirationTime(options.exp ?? now() + 300)
      .setJti(randomUUID());
    if (options.nbf !== undefined) jwt.setNotBefore(options.nbf);
    return jwt.sign(options.key ?? key);
  }

  async function reason(token: string, v: AccessTokenVerifier = verifier): Promise<string> {
    const error = await v.verify(token).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AuthFailure);
    return (error as AuthFailure).reason;
  }

  it('returns the principal of a valid institution token', async () => {
    const principal = await verifier.verify(await mint());
    expect(principal).toEqual({
      kind: 'institution',
      clientId: 'sta-ehr',
      institutionId: 'st-aurelia',
      scopes: ['system/DocumentReference.read', 'system/Patient.rs'],
      roles: [],
      tokenId: expect.any(String),
      expiresAt: expect.any(Number),
    });
  });

  it('accepts the FHIR base URL as an institution audience', async () => {
    expect((await verifier.verify(await mint({ aud: 'http://127.0.0.1:8080/fhir' }))).clientId).toBe(
      'sta-ehr',
    );
  });

  it('refuses expired tokens, but tolerates a small clock skew', async () => {
    expect(await reason(await mint({ exp: now() - 120 }))).toBe('expired');
    await expect(verifier.verify(await mint({ exp: now() - 5 }))).resolves.toBeDefined();
  });

  it('refuses tokens not valid yet', async () => {
    expect(await reason(await mint({ nbf: now() + 120 }))).toBe('not_yet_valid');
  });

  it('refuses a forged signature, a wrong issuer, a wrong audience and a wrong typ', async () => {
    expect(await reason(await mint({ key: otherKey }))).toBe('bad_signature');
    expect(await reason(await mint({ iss: 'http://evil.test' }))).toBe('wrong_issuer');
    expect(await reason(await mint({ aud: Audiences.internal }))).toBe('wrong_audience');
    expect(await reason(await mint({ typ: 'JWT' }))).toBe('wrong_type');
  });

  it('refuses other algorithms and garbage', async () => {
    const hs = await new SignJWT(institution)
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
      .setIssuer(ISSUER)
      .setSubject('x')
      .setAudience(Audiences.exchange)
      .setIssuedAt()
      .setExpirationTime('5m')
      .setJti('j')
      .sign(new TextEncoder().encode('a-shared-secret-of-at-least-32-bytes!!'));
    expect(await reason(hs)).toBe('unknown_key');
    expect(await reason('not-a-token')).toBe('malformed_token');
    expect(await reason('a.b.c')).toBe('malformed_token');
    expect(await reason('')).toBe('malformed_token');
  });

  it('never puts the token in the failure', async () => {
    const token = await mint({ key: otherKey });
    const error = (await verifier.verify(token).catch((e: unknown) => e)) as Error;
    expect(error.message).not.toContain(token.split('.')[1]);
  });

  it('a service accepting operator and internal audiences refuses an institution token minted for them', async () => {
    const internal = new AccessTokenVerifier({
      issuer: ISSUER,
      audience: [Audiences.operator, Audiences.internal],
      keys: publicKey,
    });
    expect(await reason(await mint({ aud: Audiences.operator }), internal)).toBe('wrong_audience');
    expect(await reason(await mint(), internal)).toBe('wrong_audience');
    const service = await internal.verify(
      await mint({
        aud: Audiences.internal,
        claims: { tessera_kind: 'service', tessera_roles: [SERVICE_ROLE_EXCHANGE] },
      }),
    );
    expect(service).toMatchObject({
      kind: 'service',
      roles: [SERVICE_ROLE_EXCHANGE],
      institutionId: null,
      scopes: [],
    });
  });
  describe('verified-token cache', () => {
    /** A verifier whose key lookups are counted (one lookup = one signature verification). */
    function counting(options: { size?: number; maxAgeMs?: number; tolerance?: number } = {}) {
      let lookups = 0;
      const v = new AccessTokenVerifier({
        issuer: ISSUER,
        audience: [Audiences.exchange],
        keys: () => {
          lookups += 1;
          return Promise.resolve(publicKey);
        },
        ...(options.size === undefined ? {} : { verifiedCacheSize: options.size }),
        ...(options.maxAgeMs === undefined ? {} : { verifiedCacheMaxAgeMs: options.maxAgeMs }),
        ...(options.tolerance === undefined ? {} : { clockToleranceSeconds: options.tolerance }),
      });
      return { v, lookups: () => lookups };
    }

    afterEach(() => jest.restoreAllMocks());

    it('verifies a token once and answers later calls from the cache', async () => {
      const { v, lookups } = counting();
      const token = await mint();
      const first = await v.verify(token);
      const second = await v.verify(token);
      expect(second).toEqual(first);
      expect(lookups()).toBe(1);
      expect(v.cachedTokens).toBe(1);
    });

    it('never serves an entry past the token exp: the token is verified again', async () => {
      // (jose reads its own clock, so only the cache sees the moved clock here; jose's refusal of an
      // expired token is the test above.)
      const { v, lookups } = counting({ tolerance: 0 });
      const exp = now() + 60;
      const token = await mint({ exp });
      await v.verify(token);
      const realNow = Date.now.bind(Date);
      jest.spyOn(Date, 'now').mockImplementation(() => Math.max(realNow(), exp * 1000 + 1));
      await v.verify(token);
      expect(lookups()).toBe(2);
      // Not remembered again: its exp has passed.
      expect(v.cachedTokens).toBe(0);
    });

    it('bounds an entry by the max age too', async () => {
      const { v, lookups } = counting({ maxAgeMs: 1_000 });
      const token = await mint({ exp: now() + 300 });
      await v.verify(token);
      const realNow = Date.now.bind(Date);
      jest.spyOn(Date, 'now').mockImplementation(() => realNow() + 2_000);
      await v.verify(token);
      expect(lookups()).toBe(2);
    });

    it('does not remember failures, nor a token another one only resembles', async () => {
      const { v, lookups } = counting();
      const forged = await mint({ key: otherKey });
      expect(await reason(forged, v)).toBe('bad_signature');
      expect(await reason(forged, v)).toBe('bad_signature');
      expect(v.cachedTokens).toBe(0);
      const token = await mint();
      await v.verify(token);
      // Same signature, other payload: not a cache hit, and the signature check refuses it.
      const [header, , signature] = token.split('.');
      const other = Buffer.from(JSON.stringify({ ...institution, sub: 'intruder' })).toString('base64url');
      expect(await reason(`${header ?? ''}.${other}.${signature ?? ''}`, v)).toBe('bad_signature');
      expect(lookups()).toBe(4);
    });

    it('is a bounded LRU (and can be turned off)', async () => {
      const { v, lookups } = counting({ size: 2 });
      const [a, b, c] = [await mint(), await mint(), await mint()];
      await v.verify(a);
      await v.verify(b);
      await v.verify(a); // a is now the most recent
      await v.verify(c); // evicts b
      expect(v.cachedTokens).toBe(2);
      expect(lookups()).toBe(3);
      await v.verify(a);
      expect(lookups()).toBe(3);
      await v.verify(b);
      expect(lookups()).toBe(4);
      const off = counting({ size: 0 });
      await off.v.verify(a);
      await off.v.verify(a);
      expect(off.lookups()).toBe(2);
      expect(off.v.cachedTokens).toBe(0);
    });
  });
});

describe('principalFromClaims', () => {
  const base = { sub: 'c1', jti: 'j1', exp: 2_000_000_000, iat: 1_999_999_700 };
  const reasonOf = (payload: Record<string, unknown>): string => {
    try {
      principalFromClaims(payload);
      return 'accepted';
    } catch (e) {
      return (e as AuthFailure).reason;
    }
  };

  it('couples kind and audience', () => {
    expect(
      reasonOf({
        ...base,
        aud: Audiences.operator,
        tessera_kind: 'operator',
        tessera_roles: ['ledger.read'],
      }),
    ).toBe('accepted');
    expect(
      reasonOf({
        ...base,
        aud: Audiences.exchange,
        tessera_kind: 'operator',
        tessera_roles: ['ledger.read'],
      }),
    ).toBe('wrong_audience');
    expect(
      reasonOf({
        ...base,
        aud: Audiences.operator,
        tessera_kind: 'service',
        tessera_roles: [SERVICE_ROLE_EXCHANGE],
      }),
    ).toBe('wrong_audience');
  });

  it('validates the Tessera claims', () => {
    const inst = {
      ...base,
      aud: Audiences.exchange,
      tessera_kind: 'institution',
      tessera_institution: 'riverside',
      tessera_roles: [],
    };
    expect(reasonOf(inst)).toBe('accepted');
    expect(reasonOf({ ...inst, tessera_kind: 'admin' })).toBe('invalid_claims');
    expect(reasonOf({ ...inst, tessera_kind: undefined })).toBe('invalid_claims');
    expect(reasonOf({ ...inst, tessera_institution: undefined })).toBe('invalid_claims'); // an institution token names its institution
    expect(reasonOf({ ...inst, tessera_roles: ['platform.admin'] })).toBe('invalid_claims'); // institutions have no roles
    expect(reasonOf({ ...inst, scope: 42 })).toBe('invalid_claims');
    expect(reasonOf({ ...inst, sub: undefined })).toBe('invalid_claims');
    const op = { ...base, aud: Audiences.operator, tessera_kind: 'operator', tessera_roles: ['ledger.read'] };
    expect(reasonOf({ ...op, tessera_roles: ['root'] })).toBe('invalid_claims'); // unknown role
    expect(reasonOf({ ...op, tessera_roles: [SERVICE_ROLE_EXCHANGE] })).toBe('invalid_claims'); // operators cannot hold the service role
    expect(reasonOf({ ...op, tessera_roles: 'ledger.read' })).toBe('invalid_claims');
    const svc = {
      ...base,
      aud: Audiences.internal,
      tessera_kind: 'service',
      tessera_roles: [SERVICE_ROLE_EXCHANGE],
    };
    expect(reasonOf(svc)).toBe('accepted');
    expect(reasonOf({ ...svc, tessera_roles: [] })).toBe('invalid_claims');
    expect(reasonOf({ ...svc, tessera_institution: 'riverside' })).toBe('invalid_claims');
  });

  it('an operator of one hospital keeps its institution', () => {
    const p = principalFromClaims({
      ...base,
      aud: Audiences.operator,
      tessera_kind: 'operator',
      tessera_institution: 'riverside',
      tessera_roles: ['ledger.read'],
    });
    expect(p.institutionId).toBe('riverside');
    expect(p.roles).toEqual(['ledger.read']);
  });
});
