export * from './child-process.helper';
export * from './test-database.helper';
export * from './test-tracing.helper';
export * from './wait.helper';
export * from './service-process';
export * from './messaging.fixture';
