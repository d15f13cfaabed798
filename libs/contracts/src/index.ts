export * from './envelope';
export * from './events';
export * from './fhir';
export * from './topics';
export * from './fhir-value-sets';
export * from './link-order';
export * from './access-token';
export * from './fhir-search-date';
