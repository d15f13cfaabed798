export * from './bootstrap';
export * from './health.controller';
export * from './lifecycle.service';
export * from './platform-settings';
export * from './platform.module';
export * from './service.config';
export * from './tokens';
