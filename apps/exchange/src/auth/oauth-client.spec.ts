import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseClientsYaml } from './oauth-client';

const DEMO = path.resolve(__dirname, '../../../../deploy/demo-region');

describe('parseClientsYaml', () => {
  it('reads the demo region clients: one institution client per demo hospital and the operator clients', () => {
    const clients = parseClientsYaml(readFileSync(path.join(DEMO, 'clients.yaml'), 'utf8'));
    const institutions = readFileSync(path.join(DEMO, 'institutions.yaml'), 'utf8')
      .split('\n')
      .map((l) => /^ {2}- id: (\S+)/.exec(l)?.[1])
      .filter((id): id is string => id !== undefined);
    expect(institutions.length).toBeGreaterThan(0);
    for (const id of institutions) {
      expect(clients.filter((c) => c.kind === 'institution' && c.institutionId === id)).toHaveLength(1);
    }
    expect(clients.find((c) => c.clientId === 'ops-console')).toMatchObject({
      kind: 'operator',
      institutionId: null,
    });
    expect(clients.find((c) => c.clientId === 'riverside-analyst')).toMatchObject({
      kind: 'operator',
      institutionId: 'riverside',
      roles: ['ledger.read'],
    });
    expect(clients.find((c) => c.clientId === 'privacy-officer')?.roles).toContain('privacy.officer');
  });

  const entry = (extra: string) => `clients:
  - client_id: demo
    kind: institution
    institution_id: st-aurelia
    jwks: { keys: [{ kty: EC, crv: P-384, x: abc, y: def, kid: k1, alg: ES384 }] }
${extra}`;

  it('accepts a minimal entry with defaults', () => {
    expect(parseClientsYaml(entry(''))[0]).toMatchObject({
      allowedScopes: [],
      allowedPurposes: [],
      roles: [],
      rateLimitPerSecond: null,
      enabled: true,
    });
  });

  it('refuses private keys, unknown roles and purposes, missing institution, duplicates', () => {
    expect(() => parseClientsYaml(entry('').replace('alg: ES384', 'alg: ES384, d: secret'))).toThrow(
      /public key/,
    );
    expect(() => parseClientsYaml(entry('').replace('institution_id: st-aurelia', ''))).toThrow(
      /institution_id/,
    );
    expect(() => parseClientsYaml(entry('    allowed_purposes_of_use: [SNOOP]'))).toThrow(
      /allowed_purposes_of_use/,
    );
    expect(() =>
      parseClientsYaml(entry('').replace('kind: institution', 'kind: operator') + '    roles: [root]'),
    ).toThrow(/roles/);
    expect(() => parseClientsYaml(entry('').replace('kind: institution', 'kind: operator'))).toThrow(
      /at least one role/,
    );
    expect(() => parseClientsYaml(entry('').replace('alg: ES384', 'alg: HS256'))).toThrow(/alg/);
    const twice = entry('') + '\n' + entry('').replace('clients:\n', '');
    expect(() => parseClientsYaml(twice)).toThrow(/listed twice/);
  });

  it('refuses an operator bound to an institution that holds a regional role, naming client and role', () => {
    const analyst = (roles: string) =>
      entry(`    roles: [${roles}]`)
        .replace('client_id: demo', 'client_id: riverside-ops')
        .replace('kind: institution', 'kind: operator');
    expect(parseClientsYaml(analyst('ledger.read, ledger.replay'))[0]).toMatchObject({
      kind: 'operator',
      institutionId: 'st-aurelia',
      roles: ['ledger.read', 'ledger.replay'],
    });
    for (const role of [
      'platform.admin',
      'mpi.review',
      'consent.read',
      'consent.write',
      'audit.read',
      'privacy.officer',
    ]) {
      expect(() => parseClientsYaml(analyst(`ledger.read, ${role}`), 'clients.yaml')).toThrow(
        new RegExp(
          `clients\\.yaml: client riverside-ops .*institution_id.*regional role ${role.replace('.', '\\.')}`,
        ),
      );
    }
    // the same roles are fine on a regional operator
    expect(
      parseClientsYaml(analyst('mpi.review').replace('institution_id: st-aurelia', 'institution_id: null'))[0]
        ?.roles,
    ).toEqual(['mpi.review']);
  });

  it('never echoes key material in errors', () => {
    let message = '';
    try {
      parseClientsYaml(entry('').replace('alg: ES384', 'alg: ES384, d: supersecretvalue'));
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/public key/);
    expect(message).not.toContain('supersecretvalue');
  });
});
