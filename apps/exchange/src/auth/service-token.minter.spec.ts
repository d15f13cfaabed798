import { SERVICE_ROLE_EXCHANGE } from '@tessera/platform-auth';
import type { AccessTokenGrant, AccessTokenIssuer, IssuedAccessToken } from './access-token.issuer';
import { ServiceTokenMinter } from './service-token.minter';

describe('ServiceTokenMinter', () => {
  const grants: AccessTokenGrant[] = [];
  const issuer = {
    issue: async (grant: AccessTokenGrant): Promise<IssuedAccessToken> => {
      grants.push(grant);
      const now = Math.floor(Date.now() / 1000);
      return {
        token: `token-${grants.length}`,
        tokenId: `jti-${grants.length}`,
        expiresAt: now + 300,
        expiresIn: 300,
      };
    },
  } as unknown as AccessTokenIssuer;

  beforeEach(() => {
    grants.length = 0;
    jest.useFakeTimers({ now: Date.UTC(2026, 10, 22, 3, 0, 0) });
  });
  afterEach(() => jest.useRealTimers());

  it('mints the exchange service principal once for concurrent callers', async () => {
    const minter = new ServiceTokenMinter(issuer);
    const tokens = await Promise.all([minter.serviceToken(), minter.serviceToken(), minter.serviceToken()]);
    expect(tokens).toEqual(['token-1', 'token-1', 'token-1']);
    expect(grants).toEqual([
      {
        clientId: 'exchange',
        kind: 'service',
        institutionId: null,
        scopes: [],
        roles: [SERVICE_ROLE_EXCHANGE],
      },
    ]);
  });

  it('reuses the token until a minute before it expires, then mints a new one', async () => {
    const minter = new ServiceTokenMinter(issuer);
    expect(await minter.serviceToken()).toBe('token-1');
    jest.setSystemTime(Date.now() + 239_000); // 61 s left
    expect(await minter.serviceToken()).toBe('token-1');
    jest.setSystemTime(Date.now() + 2_000); // 59 s left
    expect(await minter.serviceToken()).toBe('token-2');
  });

  it('a failed mint is not cached', async () => {
    let fail = true;
    const flaky = {
      issue: async (grant: AccessTokenGrant) => {
        if (fail) throw new Error('key unavailable');
        return issuer.issue(grant);
      },
    } as unknown as AccessTokenIssuer;
    const minter = new ServiceTokenMinter(flaky);
    await expect(minter.serviceToken()).rejects.toThrow('key unavailable');
    fail = false;
    expect(await minter.serviceToken()).toBe('token-1');
  });
});
