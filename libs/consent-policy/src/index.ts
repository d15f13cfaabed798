export * from './model';
export * from './consent-fhir.mapper';
export * from './visibility.codec';
export * from './region-policy.loader';
export * from './consent.policy';
export * from './labeling.policy';
export * from './item-codes';
export * from './item-labels';
