import 'reflect-metadata';
import { bootstrapService } from '@tessera/platform-service';
import { AppModule, serviceOptions } from './app.module';
import { runAuditVerify } from './audit/audit-chain.verifier';

if (process.argv[2] === 'audit-verify')
  void runAuditVerify(serviceOptions).then((code) => process.exit(code));
else void bootstrapService(AppModule, serviceOptions);
