export * from './policy-cache';
