import { MessagingTables1700000000000 } from '@tessera/platform-kafka';

/** Migrations of the exchange database, in order. Never `synchronize` (STYLE.md habit 10). */
export const migrations = [MessagingTables1700000000000];
