/** DI tokens of the platform module (ports bound by DI tokens, docs/conventions.md §13). */
export const SERVICE_OPTIONS = Symbol('SERVICE_OPTIONS');
export const PLATFORM_SETTINGS = Symbol('PLATFORM_SETTINGS');
export const LOGGER = Symbol('LOGGER');
export const METRICS_REGISTRY = Symbol('METRICS_REGISTRY');
export const REDIS_CLIENT = Symbol('REDIS_CLIENT');
export const KAFKA = Symbol('KAFKA');
export const KAFKA_ADMIN = Symbol('KAFKA_ADMIN');
export const EVENT_PRODUCER = Symbol('EVENT_PRODUCER');
