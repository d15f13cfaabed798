import { expectServiceLifecycle } from '@tessera/testing';

// Each app, black-box as `npm start` runs it (compiled, own process), on a free port.
const services = ['interop-gateway', 'mpi', 'consent', 'document-registry'] as const;

describe('service apps', () => {
  it.each(services)(
    '%s boots, is healthy against real Postgres/Redis/Kafka, serves /metrics, and drains on SIGTERM',
    async (name) => {
      await expectServiceLifecycle(name);
    },
  );
});
