import { MessagingTables1700000000000 } from '@tessera/platform-kafka';
import { MpiIdentity1732500000000 } from './1732500000000-mpi-identity';
import { MpiOperatorDecisions1732600000000 } from './1732600000000-mpi-operator-decisions';

/** Migrations of the mpi database, in order. Never `synchronize` (STYLE.md habit 10). */
export const migrations = [MessagingTables1700000000000, MpiIdentity1732500000000, MpiOperatorDecisions1732600000000];
