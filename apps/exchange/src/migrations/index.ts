import { MessagingTables1700000000000 } from '@tessera/platform-kafka';
import { OAuthClients1764100000000 } from './1764100000000-oauth-clients';
import { Notify1765000000000 } from './1765000000000-notify';

/** Migrations of the exchange database, in order. Never `synchronize` (docs/conventions.md §10). */
export const migrations = [MessagingTables1700000000000, OAuthClients1764100000000, Notify1765000000000];
