import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import { AuditWriter } from '@tessera/platform-audit';
import type { AuditRecordInput } from '@tessera/platform-audit';
import type { AuthRejection, Principal } from '@tessera/platform-auth';
import { LOGGER } from '@tessera/platform-service';
import type { Logger } from 'pino';
import type { RequestContext } from '../context/request-context';
import { outcomeError } from '../http/outcome';

export interface AuditFacts {
  readonly subtype: string;
  readonly action: AuditRecordInput['action'];
  /** '0' success, '4' minor failure (refused, not found), '8' serious failure. */
  readonly outcome?: AuditRecordInput['outcome'];
  readonly outcomeDesc?: string;
  readonly type?: AuditRecordInput['type'];
  readonly patients?: readonly string[];
  readonly entities?: AuditRecordInput['entities'];
  readonly hiddenCount?: number;
  readonly breakGlass?: boolean;
  readonly detail?: string;
}

/**
 * The exchange's audit records (IHE BALP shape, AuditRecorded v2). `record` resolves when the record
 * is durable on hie.audit; when it cannot be made durable the request fails with 503 and nothing is
 * returned (fail closed). Refusals are recorded detached (`security-alert`), the caller never waits.
 */
@Injectable()
export class ExchangeAudit {
  constructor(
    private readonly writer: AuditWriter,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async record(principal: Principal, context: RequestContext | undefined, facts: AuditFacts): Promise<void> {
    try {
      await this.writer.record(this.input(principal, context, facts));
    } catch (error) {
      this.logger.error(
        { err: { name: (error as Error).name, message: (error as Error).message }, subtype: facts.subtype },
        'audit record not durable; request refused',
      );
      throw outcomeError(
        HttpStatus.SERVICE_UNAVAILABLE,
        'transient',
        'the audit trail is unavailable, so nothing was returned. Try again shortly.',
      );
    }
  }

  /** A record the caller does not wait for (a request that failed anyway): retried, logged if lost. */
  detached(principal: Principal, context: RequestContext | undefined, facts: AuditFacts): void {
    this.writer.recordDetached(this.input(principal, context, facts));
  }

  /** A refused call (401/403/429): security-alert, detached (retried, never blocks the answer). */
  securityAlert(
    rejection:
      AuthRejection | { reason: string; status: number; clientId?: string; path: string; method: string },
    principal?: Principal,
    context?: RequestContext,
  ): void {
    this.writer.recordDetached({
      type: 'security-alert',
      subtype: rejection.method === 'GET' ? 'read' : rejection.method === 'POST' ? 'create' : 'update',
      action: 'E',
      outcome: rejection.status === 401 ? '8' : '4',
      outcomeDesc: `${rejection.status} ${rejection.reason}`.slice(0, 500),
      agent: {
        clientId: principal?.clientId ?? rejection.clientId ?? null,
        institutionId: principal?.institutionId ?? null,
        roles: principal?.roles ?? [],
        ...(context?.onBehalfOf === undefined ? {} : { user: context.onBehalfOf }),
      },
      ...(context === undefined ? {} : { purposeOfUse: context.purposeOfUse }),
      entities: [{ type: 'endpoint', reference: rejection.path.slice(0, 200) }],
    });
  }

  private input(
    principal: Principal,
    context: RequestContext | undefined,
    facts: AuditFacts,
  ): AuditRecordInput {
    return {
      type: facts.type ?? 'rest',
      subtype: facts.subtype,
      action: facts.action,
      outcome: facts.outcome ?? '0',
      ...(facts.outcomeDesc === undefined ? {} : { outcomeDesc: facts.outcomeDesc.slice(0, 500) }),
      agent: {
        clientId: principal.clientId,
        institutionId: principal.institutionId,
        roles: principal.roles,
        ...(context?.onBehalfOf === undefined ? {} : { user: context.onBehalfOf }),
      },
      ...(context === undefined ? {} : { purposeOfUse: context.purposeOfUse }),
      breakGlass: facts.breakGlass ?? false,
      patients: facts.patients ?? [],
      entities: facts.entities ?? [],
      ...(facts.hiddenCount === undefined ? {} : { hiddenCount: facts.hiddenCount }),
      ...(facts.detail === undefined ? {} : { detail: facts.detail.slice(0, 1000) }),
    };
  }
}
