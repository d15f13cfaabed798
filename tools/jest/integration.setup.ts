// Integration tests talk to real Kafka/Postgres/Redis and child processes: allow them time.
// (testTimeout is a global Jest option; per-project it must be set here.)
jest.setTimeout(120_000);
