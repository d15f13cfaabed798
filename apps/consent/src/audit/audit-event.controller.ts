import { Controller, Get, Header, HttpStatus, Param, Req, UseFilters } from '@nestjs/common';
import type { AuditEvent, Bundle } from '@medplum/fhirtypes';
import type { Request } from 'express';
import { AuditUnavailableError, AuditWriter } from '@tessera/platform-audit';
import { CurrentPrincipal, RequireRoles, RequireRolesOrService } from '@tessera/platform-auth';
import type { Principal } from '@tessera/platform-auth';
import { FHIR_JSON, OperationOutcomeException, OperationOutcomeFilter } from '@tessera/platform-service';
import { auditSearchBundle, presentAuditEvent } from './audit-event.presenter';
import type { StoredAuditEvent } from './audit-event.presenter';
import { AuditQueryService } from './audit-query.service';
import type { AuditSearchScope } from './audit-query.service';
import { parseAuditSearch } from './audit-search.params';
import { callerOf as consentCallerOf, REQUESTING_INSTITUTION_HEADER } from '../http/consent-caller';

/**
 * FHIR R4 AuditEvent search and read over the audit store: operators with `audit.read` (privacy
 * officers: the whole trail), or the exchange's service token for one patient and one institution
 * (X-Tessera-Requesting-Institution): "who accessed my record" shows an institution only the
 * accesses to items it contributed (records with an entity whose `sourceInstitution` is that
 * institution; queries that returned none of its items are not shown).
 * An operator's own search is audited before it is answered; if that record cannot be made durable
 * the answer is 503 (fail closed). The exchange audits the requests it relays itself.
 */
@Controller()
@UseFilters(OperationOutcomeFilter)
export class AuditEventController {
  constructor(
    private readonly queries: AuditQueryService,
    private readonly audit: AuditWriter,
  ) {}

  @Get('AuditEvent')
  @Header('content-type', FHIR_JSON)
  @RequireRolesOrService('audit.read')
  async search(
    @Req() request: Request,
    @CurrentPrincipal() principal: Principal | undefined,
  ): Promise<Bundle<AuditEvent>> {
    const url = new URL(
      request.originalUrl,
      `${request.protocol}://${request.get('host') ?? 'consent.invalid'}`,
    );
    const parsed = parseAuditSearch(url.searchParams);
    if (!parsed.ok) {
      throw new OperationOutcomeException(
        HttpStatus.BAD_REQUEST,
        parsed.issues.map((i) => ({ code: 'invalid', diagnostics: i.diagnostics, expression: i.parameter })),
      );
    }
    const query = parsed.query;
    if (principal?.kind === 'service' && query.patient === null) {
      throw new OperationOutcomeException(HttpStatus.BAD_REQUEST, [
        {
          code: 'required',
          diagnostics: 'a service search of the audit store must name one patient',
          expression: 'patient',
        },
      ]);
    }
    // The exchange searches for one institution (X-Tessera-Requesting-Institution, required).
    const contributor =
      principal?.kind === 'service'
        ? requestingInstitution(principal, request.headers[REQUESTING_INSTITUTION_HEADER])
        : null;
    const page = await this.queries.search(query, { ...scopeOf(principal), contributor });
    if (principal?.kind === 'operator') {
      await this.auditOperatorAccess(principal, query.patient === null ? [] : [query.patient], {
        type: 'AuditEvent',
        query: url.search.slice(1).slice(0, 4000),
      });
    }
    // The exchange relays this to an institution: only records of accesses to items it contributed
    // (filtered in SQL above), and of each only that patient and those items (other persons, other
    // institutions' items, query strings, details and hidden counts are other people's data or
    // consent). Operators with audit.read see whole records.
    const patient = query.patient;
    const rows =
      contributor !== null && patient !== null
        ? page.rows.map((row) => forContributor(row, patient, contributor))
        : page.rows;
    return auditSearchBundle(rows, page.total, url, query.count, query.offset);
  }

  @Get('AuditEvent/:id')
  @Header('content-type', FHIR_JSON)
  @RequireRoles('audit.read')
  async read(
    @Param('id') id: string,
    @CurrentPrincipal() principal: Principal | undefined,
  ): Promise<AuditEvent> {
    const row = /^[A-Za-z0-9\-.]{1,64}$/.test(id)
      ? await this.queries.byId(id, scopeOf(principal))
      : undefined;
    if (row === undefined) {
      throw new OperationOutcomeException(HttpStatus.NOT_FOUND, [
        { code: 'not-found', diagnostics: 'no audit event with this id', expression: 'id' },
      ]);
    }
    if (principal !== undefined) {
      await this.auditOperatorAccess(principal, row.record.patients, {
        type: 'AuditEvent',
        reference: `AuditEvent/${row.eventId}`,
      });
    }
    return presentAuditEvent(row);
  }

  /** BALP: reading the audit trail is itself audited (fail closed: no answer without its record). */
  private async auditOperatorAccess(
    principal: Principal,
    patients: readonly string[],
    entity: { type: string; reference?: string; query?: string },
  ): Promise<void> {
    try {
      await this.audit.record({
        type: 'rest',
        subtype: entity.query === undefined ? 'read' : 'search-type',
        action: 'E',
        outcome: '0',
        agent: {
          clientId: principal.clientId,
          institutionId: principal.institutionId,
          roles: principal.roles,
        },
        purposeOfUse: 'HOPERAT',
        patients,
        entities: [entity],
      });
    } catch (error) {
      if (!(error instanceof AuditUnavailableError)) throw error;
      throw new OperationOutcomeException(HttpStatus.SERVICE_UNAVAILABLE, [
        {
          code: 'exception',
          diagnostics:
            'The audit trail is unavailable, so the audit store cannot be read just now. Try again shortly.',
        },
      ]);
    }
  }
}

function forContributor(row: StoredAuditEvent, patient: string, institutionId: string): StoredAuditEvent {
  const { hiddenCount: _hidden, detail: _detail, ...record } = row.record;
  return {
    ...row,
    record: {
      ...record,
      patients: record.patients.filter((p) => p === patient),
      entities: record.entities
        .filter((e) => e.sourceInstitution === institutionId)
        .map(({ query: _query, ...entity }) => entity),
    },
  };
}

function requestingInstitution(principal: Principal, header: string | string[] | undefined): string {
  const caller = consentCallerOf(principal, typeof header === 'string' ? header : undefined);
  if (caller.kind !== 'institution') throw new Error('a service caller always names an institution');
  return caller.institutionId;
}

function scopeOf(principal: Principal | undefined): AuditSearchScope {
  // An institution's own operator sees its institution's records; regional operators and the exchange all.
  return { institutionId: principal?.kind === 'operator' ? principal.institutionId : null };
}
