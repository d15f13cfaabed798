import { HttpStatus, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { OperationOutcomeException } from '@tessera/platform-service';
import { versionConflict } from '../http/if-match';
import { WatchRepository } from './watch.repository';
import type { AlertDecision, AlertStatus, PrivacyAlertView } from './watch.repository';

/** The privacy officer's alert queue: list, and close with a decision (optimistic lock on `version`). */
@Injectable()
export class PrivacyAlertHandler {
  constructor(
    private readonly dataSource: DataSource,
    private readonly repository: WatchRepository,
  ) {}

  alerts(status: AlertStatus | undefined, limit: number): Promise<PrivacyAlertView[]> {
    return this.repository.alerts(this.dataSource, status, limit);
  }

  async decide(
    id: string,
    expectedVersion: number,
    decision: AlertDecision,
    note: string | null,
    decidedBy: string,
  ): Promise<PrivacyAlertView> {
    return this.dataSource.transaction(async (tx) => {
      const alert = await this.repository.alert(tx, id, true);
      if (alert === undefined) {
        throw new OperationOutcomeException(HttpStatus.NOT_FOUND, [
          { code: 'not-found', diagnostics: 'No privacy alert with this id.' },
        ]);
      }
      if (alert.version !== expectedVersion) throw versionConflict(alert.version);
      if (alert.status === 'closed') {
        throw new OperationOutcomeException(HttpStatus.CONFLICT, [
          { code: 'conflict', diagnostics: 'This alert is already closed.' },
        ]);
      }
      await this.repository.closeAlert(tx, id, decision, decidedBy, note);
      const closed = await this.repository.alert(tx, id);
      if (closed === undefined) throw new Error('alert vanished inside its transaction');
      return closed;
    });
  }
}
