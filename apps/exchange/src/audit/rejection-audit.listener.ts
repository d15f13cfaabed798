import { Injectable } from '@nestjs/common';
import type { AuthRejection } from '@tessera/platform-auth';
import { ExchangeAudit } from './exchange-audit.service';

/** Bound to AUTH_REJECTION_LISTENER: every 401/403 of the auth guard becomes a security-alert record. */
@Injectable()
export class RejectionAuditListener {
  constructor(private readonly audit: ExchangeAudit) {}

  onAuthRejected(rejection: AuthRejection): void {
    this.audit.securityAlert(rejection);
  }
}
