import { ConfigError } from '@tessera/platform-config';
import { loadGatewaySettings } from './gateway.config';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadGatewaySettings(env);
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems.map((p) => p.variable);
  }
}

describe('loadGatewaySettings: MLLP listeners off loopback authenticate their senders', () => {
  it('takes a plain shared port on loopback (development default)', () => {
    expect(problemsOf({})).toEqual([]);
    expect(problemsOf({ MLLP_HOST: '::1' })).toEqual([]);
  });

  it('refuses a plain shared port on a reachable host, naming what to set', () => {
    expect(problemsOf({ MLLP_HOST: '0.0.0.0' })).toEqual(['MLLP_HOST']);
    try {
      loadGatewaySettings({ MLLP_HOST: '0.0.0.0' });
    } catch (error) {
      expect((error as Error).message).toContain('MLLP_SHARED_TLS=true');
      expect((error as Error).message).toContain('MLLP_SHARED_PORT_UNAUTHENTICATED=true');
    }
  });

  it('takes it when TLS (with its files) or when explicitly unauthenticated, or when this process has no listener', () => {
    expect(problemsOf({ MLLP_HOST: '0.0.0.0', MLLP_SHARED_PORT_UNAUTHENTICATED: 'true' })).toEqual([]);
    expect(problemsOf({ MLLP_HOST: '0.0.0.0', MLLP_SHARED_TLS: 'true' }).sort()).toEqual([
      'MLLP_TLS_CA_FILE',
      'MLLP_TLS_CERT_FILE',
      'MLLP_TLS_KEY_FILE',
    ]);
    expect(
      problemsOf({
        MLLP_HOST: '0.0.0.0',
        MLLP_SHARED_TLS: 'true',
        MLLP_TLS_CERT_FILE: '/c.pem',
        MLLP_TLS_KEY_FILE: '/k.pem',
        MLLP_TLS_CA_FILE: '/ca.pem',
      }),
    ).toEqual([]);
    expect(problemsOf({ MLLP_HOST: '0.0.0.0', GATEWAY_ROLES: 'mapper' })).toEqual([]);
  });
});
