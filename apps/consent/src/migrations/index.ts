import { MessagingTables1700000000000 } from '@tessera/platform-kafka';
import { ConsentDirectives1763900000000 } from './1763900000000-consent-directives';
import { AuditEvents1763950000000 } from './1763950000000-audit-events';
import { ConsentDirectiveCoverage1764000000000 } from './1764000000000-consent-directive-coverage';
import { ConsentOwnership1764100000000 } from './1764100000000-consent-ownership';
import { PrivacyWatch1764200000000 } from './1764200000000-privacy-watch';
import { FeedMessageTime1764300000000 } from './1764300000000-feed-message-time';

/** Migrations of the consent database, in order. Never `synchronize`: the schema is only what these say. */
export const migrations = [
  MessagingTables1700000000000,
  ConsentDirectives1763900000000,
  AuditEvents1763950000000,
  ConsentDirectiveCoverage1764000000000,
  ConsentOwnership1764100000000,
  PrivacyWatch1764200000000,
  FeedMessageTime1764300000000,
];
