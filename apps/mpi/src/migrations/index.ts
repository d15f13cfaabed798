import { MessagingTables1700000000000 } from '@tessera/platform-kafka';
import { MpiIdentity1732500000000 } from './1732500000000-mpi-identity';
import { MpiOperatorDecisions1732600000000 } from './1732600000000-mpi-operator-decisions';
import { MpiEnterpriseMerges1732700000000 } from './1732700000000-mpi-enterprise-merges';
import { MpiRematchJobs1732800000000 } from './1732800000000-mpi-rematch-jobs';
import { MpiPdqContactSearch1732900000000 } from './1732900000000-mpi-pdq-contact-search';

/** Migrations of the mpi database, in order. Never `synchronize` (docs/conventions.md §10). */
export const migrations = [
  MessagingTables1700000000000,
  MpiIdentity1732500000000,
  MpiOperatorDecisions1732600000000,
  MpiEnterpriseMerges1732700000000,
  MpiRematchJobs1732800000000,
  MpiPdqContactSearch1732900000000,
];
