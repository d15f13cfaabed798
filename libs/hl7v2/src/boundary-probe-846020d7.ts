import * as forbidden from 'typeorm';
export const x = forbidden;
