import { MessagingTables1700000000000 } from '@tessera/platform-kafka';
import { GatewayLedger1732233600000 } from './1732233600000-gateway-ledger';
import { GatewayLedgerOperations1732406400000 } from './1732406400000-gateway-ledger-operations';
import { LedgerSenderAuthentication1765152000000 } from './1765152000000-ledger-sender-authentication';
import { LedgerDedupeBySender1796601600000 } from './1796601600000-ledger-dedupe-by-sender';

/** Migrations of the interop-gateway database, in order. Never `synchronize`: the schema changes only through these. */
export const migrations = [
  MessagingTables1700000000000,
  GatewayLedger1732233600000,
  GatewayLedgerOperations1732406400000,
  LedgerSenderAuthentication1765152000000,
  LedgerDedupeBySender1796601600000,
];
