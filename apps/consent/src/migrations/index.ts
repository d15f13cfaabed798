/** Migrations of the consent database, in order. Never `synchronize` (STYLE.md habit 10). */
export const migrations = [];
