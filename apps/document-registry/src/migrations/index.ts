import { MessagingTables1700000000000 } from '@tessera/platform-kafka';
import { RegistryIndex1732492800000 } from './1732492800000-registry-index';
import { LabelCodes1763800000000 } from './1763800000000-label-codes';

/** Migrations of the document-registry database, in order. Never `synchronize` (docs/conventions.md §10). */
export const migrations = [MessagingTables1700000000000, RegistryIndex1732492800000, LabelCodes1763800000000];
