export * from './audit-writer';
export * from './audit.module';
export * from './rejection-audit';
