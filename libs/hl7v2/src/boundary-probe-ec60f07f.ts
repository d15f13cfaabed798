import * as forbidden from 'redis';
export const x = forbidden;
