export * from './topics';
export * from './encounter-change.policy';
export * from './visit-closing.policy';
export * from './coalescing.policy';
export * from './subscription.mapper';
export * from './notification-bundle.mapper';
export * from './roster.mapper';
