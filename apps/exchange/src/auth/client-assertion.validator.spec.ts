import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { JWK, KeyLike } from 'jose';
import { authenticateClient, OAuthError } from './client-assertion.validator';
import type { AssertionContext, JtiStore } from './client-assertion.validator';
import type { OAuthClient } from './oauth-client';

const TOKEN_ENDPOINT = 'http://127.0.0.1:8080/auth/token';
const NOW = Date.UTC(2026, 10, 22, 3, 0, 0);
const nowSeconds = Math.floor(NOW / 1000);

class MemoryJtiStore implements JtiStore {
  readonly seen = new Map<string, number>();
  async claim(clientId: string, jti: string, ttlMs: number): Promise<boolean> {
    const key = `${clientId}:${jti}`;
    if (this.seen.has(key)) return false;
    this.seen.set(key, ttlMs);
    return true;
  }
}

interface Keys {
  readonly privateKey: KeyLike;
  readonly publicJwk: JWK;
}

async function keys(alg: 'ES384' | 'RS384' | 'ES256' | 'RS256', kid: string): Promise<Keys> {
  const pair = await generateKeyPair(alg, { extractable: true });
  return { privateKey: pair.privateKey, publicJwk: { ...(await exportJWK(pair.publicKey)), kid, alg } };
}

describe('authenticateClient (SMART Backend Services client assertion)', () => {
  let es384: Keys;
  let rs384: Keys;
  let stranger: Keys;
  let client: OAuthClient;
  let jtis: MemoryJtiStore;

  beforeAll(async () => {
    es384 = await keys('ES384', 'k-es384');
    rs384 = await keys('RS384', 'k-rs384');
    stranger = await keys('ES384', 'k-es384'); // same kid, different key: a forgery
    client = {
      clientId: 'sta-ehr',
      kind: 'institution',
      institutionId: 'st-aurelia',
      jwks: {
        keys: [es384.publicJwk, rs384.publicJwk],
      },
      allowedScopes: ['system/DocumentReference.read'],
      allowedPurposes: ['TREAT'],
      roles: [],
      rateLimitPerSecond: null,
      enabled: true,
    };
  });

  beforeEach(() => {
    jtis = new MemoryJtiStore();
  });

  const context = (extra: Partial<AssertionContext> = {}): AssertionContext => ({
    tokenEndpoint: TOKEN_ENDPOINT,
    findClient: async (id) => (id === client.clientId ? client : undefined),
    jtis,
    now: () => NOW,
    ...extra,
  });

  interface AssertionOptions {
    readonly key?: Keys;
    readonly alg?: string;
    readonly kid?: string | null;
    readonly iss?: string;
    readonly sub?: string;
    readonly aud?: string;
    readonly exp?: number | null;
    readonly iat?: number;
    readonly nbf?: number;
    readonly jti?: string | null;
  }

  async function assertion(o: AssertionOptions = {}): Promise<string> {
    const key = o.key ?? es384;
    const alg = o.alg ?? key.publicJwk.alg!;
    const kid = o.kid === undefined ? (key.publicJwk.kid as string) : o.kid;
    const jwt = new SignJWT({})
      .setProtectedHeader({ alg, typ: 'JWT', ...(kid === null ? {} : { kid }) })
      .setIssuer(o.iss ?? 'sta-ehr')
      .setSubject(o.sub ?? 'sta-ehr')
      .setAudience(o.aud ?? TOKEN_ENDPOINT)
      .setIssuedAt(o.iat ?? nowSeconds);
    if (o.exp !== null) jwt.setExpirationTime(o.exp ?? nowSeconds + 60);
    if (o.jti !== null) jwt.setJti(o.jti ?? randomUUID());
    if (o.nbf !== undefined) jwt.setNotBefore(o.nbf);
    return jwt.sign(key.privateKey);
  }

  async function refusal(token: string, ctx: AssertionContext = context()): Promise<OAuthError> {
    const error = await authenticateClient(token, ctx).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OAuthError);
    const oauth = error as OAuthError;
    expect(oauth.status).toBe(401);
    expect(oauth.error).toBe('invalid_client');
    return oauth;
  }

  it('accepts a valid ES384 and a valid RS384 assertion and stores the jti until exp', async () => {
    await expect(authenticateClient(await assertion(), context())).resolves.toBe(client);
    await expect(authenticateClient(await assertion({ key: rs384 }), context())).resolves.toBe(client);
    expect(jtis.seen.size).toBe(2);
    for (const ttl of jtis.seen.values()) expect(ttl).toBe((60 + 30) * 1000);
  });

  it('refuses an expired assertion, tolerating 30 s of clock skew', async () => {
    expect((await refusal(await assertion({ exp: nowSeconds - 60 }))).description).toMatch(/expired/);
    await expect(authenticateClient(await assertion({ exp: nowSeconds - 10 }), context())).resolves.toBe(
      client,
    );
  });

  it('refuses an assertion valid for more than 5 minutes, or issued / valid only in the future', async () => {
    expect((await refusal(await assertion({ exp: nowSeconds + 301 + 30 }))).description).toMatch(
      /at most 300 seconds/,
    );
    await expect(authenticateClient(await assertion({ exp: nowSeconds + 300 }), context())).resolves.toBe(
      client,
    );
    expect((await refusal(await assertion({ iat: nowSeconds + 120 }))).description).toMatch(/iat/);
    expect((await refusal(await assertion({ nbf: nowSeconds + 120 }))).description).toMatch(/nbf/);
  });

  it('refuses a missing exp or jti', async () => {
    expect((await refusal(await assertion({ exp: null }))).description).toMatch(/exp/);
    expect((await refusal(await assertion({ jti: null }))).description).toMatch(/jti/);
  });

  it('refuses a wrong audience (another endpoint, the FHIR base)', async () => {
    for (const aud of [
      'http://127.0.0.1:8080/fhir',
      'http://127.0.0.1:8080/auth/token/',
      'https://other.example/auth/token',
    ]) {
      expect((await refusal(await assertion({ aud }))).description).toContain(TOKEN_ENDPOINT);
    }
  });

  it('refuses a replayed jti, after checking the signature', async () => {
    const jti = randomUUID();
    await authenticateClient(await assertion({ jti }), context());
    expect((await refusal(await assertion({ jti }))).description).toMatch(/replay/);
    // A forged assertion with a fresh jti does not consume it.
    const fresh = randomUUID();
    await refusal(await assertion({ key: stranger, jti: fresh }));
    await expect(authenticateClient(await assertion({ jti: fresh }), context())).resolves.toBe(client);
  });

  it('refuses a forged signature, an unknown kid and a missing kid', async () => {
    expect((await refusal(await assertion({ key: stranger }))).description).toMatch(/signature/);
    expect((await refusal(await assertion({ kid: 'k-unknown' }))).description).toMatch(/no registered key/);
    expect((await refusal(await assertion({ kid: null }))).description).toMatch(/kid/);
  });

  it('refuses algorithms outside RS384/ES384/RS256/ES256 and a key/alg mismatch', async () => {
    const es512 = await keys('ES256', 'k-es384');
    const hs = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', kid: 'k-es384' })
      .setIssuer('sta-ehr')
      .setSubject('sta-ehr')
      .setAudience(TOKEN_ENDPOINT)
      .setExpirationTime(nowSeconds + 60)
      .setJti('x')
      .sign(new TextEncoder().encode('a-shared-secret-of-at-least-32-bytes!!'));
    expect((await refusal(hs)).description).toMatch(/alg must be one of/);
    // ES256 header with the ES384 key's kid: jose finds no key of that alg.
    expect((await refusal(await assertion({ key: es512 }))).description).toMatch(/no registered key/);
  });

  it('refuses a wrong iss or sub, an unknown client, and a client_id parameter that differs', async () => {
    expect((await refusal(await assertion({ sub: 'riverside-ehr' }))).description).toMatch(
      /sub must equal iss/,
    );
    const unknown = await refusal(await assertion({ iss: 'nobody', sub: 'nobody' }));
    expect(unknown.description).toMatch(/unknown or disabled client/);
    expect(unknown.clientId).toBe('nobody');
    expect(
      (await refusal(await assertion(), context({ clientIdParameter: 'riverside-ehr' }))).description,
    ).toMatch(/client_id does not match/);
    await expect(
      authenticateClient(await assertion(), context({ clientIdParameter: 'sta-ehr' })),
    ).resolves.toBe(client);
  });

  it('refuses garbage', async () => {
    expect((await refusal('not-a-jwt')).description).toMatch(/not a signed JWT/);
  });

  it('never echoes the assertion in the error', async () => {
    const token = await assertion({ key: stranger });
    const error = await refusal(token);
    expect(error.message).not.toContain(token.split('.')[2]);
  });
});
