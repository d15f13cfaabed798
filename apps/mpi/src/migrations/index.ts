/** Migrations of the mpi database, in order. Never `synchronize` (STYLE.md habit 10). */
export const migrations = [];
