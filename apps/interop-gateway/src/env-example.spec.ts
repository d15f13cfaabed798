import { readFileSync } from 'node:fs';
import path from 'node:path';
import { kafkaConfig, observabilityConfig, postgresConfig, redisConfig } from '@tessera/platform-config';
import { serviceConfig } from '@tessera/platform-service';
import { gatewayConfig } from './gateway.config';

// Every setting a service reads is documented in .env.example (README "Configuration").
describe('.env.example', () => {
  const documented = new Set(
    readFileSync(path.join(__dirname, '../../../.env.example'), 'utf8')
      .split('\n')
      .map((line) => /^#?\s*([A-Z][A-Z0-9_]+)=/.exec(line)?.[1])
      .filter((name): name is string => name !== undefined),
  );
  const namespaces = [
    postgresConfig,
    redisConfig,
    kafkaConfig,
    observabilityConfig,
    serviceConfig({ httpPort: 1, database: 'x' }),
    gatewayConfig,
  ];

  it.each(namespaces.map((ns) => [ns.namespace, Object.keys(ns.schema.shape)] as const))(
    'documents every variable of the %s namespace',
    (_namespace, variables) => {
      expect(variables.filter((v) => !documented.has(v))).toEqual([]);
    },
  );
});
