import { MessagingTables1700000000000 } from '@tessera/platform-kafka';
import { RegistryIndex1732492800000 } from './1732492800000-registry-index';
import { LabelCodes1763800000000 } from './1763800000000-label-codes';
import { ReportResultLabels1765100000000 } from './1765100000000-report-result-labels';

/** Migrations of the document-registry database, in order. Never `synchronize` (docs/conventions.md §10). */
export const migrations = [
  MessagingTables1700000000000,
  RegistryIndex1732492800000,
  LabelCodes1763800000000,
  ReportResultLabels1765100000000,
];
