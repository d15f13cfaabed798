export * from './envelope';
export * from './events';
export * from './fhir';
export * from './topics';
