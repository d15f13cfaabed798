import { MessagingTables1700000000000 } from '@tessera/platform-kafka';
import { GatewayLedger1732233600000 } from './1732233600000-gateway-ledger';
import { GatewayLedgerOperations1732406400000 } from './1732406400000-gateway-ledger-operations';

/** Migrations of the interop-gateway database, in order. Never `synchronize` (STYLE.md habit 10). */
export const migrations = [MessagingTables1700000000000, GatewayLedger1732233600000, GatewayLedgerOperations1732406400000];
