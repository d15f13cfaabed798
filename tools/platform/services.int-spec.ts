import { expectServiceLifecycle } from '@tessera/testing';

// Each app, black-box as `npm start` runs it (compiled, own process), on ports that do not clash
// with a running `npm start`.
const services = [
  ['interop-gateway', 18081],
  ['mpi', 18082],
  ['consent', 18083],
  ['document-registry', 18084],
] as const;

describe('service apps', () => {
  it.each(services)(
    '%s boots, is healthy against real Postgres/Redis/Kafka, serves /metrics, and drains on SIGTERM',
    async (name, port) => {
      await expectServiceLifecycle(name, port);
    },
  );
});
