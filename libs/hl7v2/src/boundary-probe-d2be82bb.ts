import * as forbidden from 'kafkajs';
export const x = forbidden;
