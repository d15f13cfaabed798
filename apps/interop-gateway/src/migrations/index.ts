/** Migrations of the interop-gateway database, in order. Never `synchronize` (STYLE.md habit 10). */
export const migrations = [];
