import * as forbidden from '@opentelemetry/api';
export const x = forbidden;
