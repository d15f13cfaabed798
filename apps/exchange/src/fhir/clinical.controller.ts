import { Controller, Get, Header, Inject, Param, Req, Res } from '@nestjs/common';
import type { Bundle } from '@medplum/fhirtypes';
import { VISIBILITY_HEADER } from '@tessera/consent-policy';
import type { ItemFacts } from '@tessera/consent-policy';
import { RequireScopes, scopeCovers } from '@tessera/platform-auth';
import { FHIR_JSON, LOGGER } from '@tessera/platform-service';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { ExchangeAudit } from '../audit/exchange-audit.service';
import { ExchangeRoute } from '../context/exchange-request.interceptor';
import { FHIR_ID, parsePatientRef, SHA256 } from '../context/search-hygiene';
import type { PatientRef } from '../context/search-hygiene';
import { EXCHANGE_SETTINGS } from '../exchange.config';
import type { ExchangeSettings } from '../exchange.config';
import { outcomeError } from '../http/outcome';
import { CLINICAL_TYPES } from '../http/route-table';
import type { ClinicalType } from '../http/route-table';
import { AccessDecisionService } from '../policy/access-decision.service';
import type { AccessDecision } from '../policy/access-decision.service';
import { filterBundle } from '../policy/item-facts';
import { MpiGateway } from '../upstream/mpi.gateway';
import { UpstreamStatusError } from '../upstream/upstream.client';
import type { UpstreamClient } from '../upstream/upstream.client';
import { REGISTRY_UPSTREAM } from '../upstream/upstream.tokens';
import { audited, callerOf, checkedQuery, clinicalContext, upstreamError } from './exchange-call';
import type { Caller } from './exchange-call';

/** Headers of a content answer passed on to the caller. */
const CONTENT_HEADERS = ['content-type', 'content-length', 'etag', 'repr-digest', 'digest'];

interface Fact {
  readonly enterpriseId: string | null;
  readonly sourceInstitution: string;
  readonly securityLabels: ItemFacts['securityLabels'];
}

/**
 * Clinical reads through the exchange: DocumentReference / Encounter / DiagnosticReport /
 * Observation search, the patient timeline, `_history`, and document content. Each: resolve the
 * patient (MPI), decide (consent policy), push the visibility down to the registry, re-check every
 * returned item with decideItem, audit (awaited) and answer.
 */
@Controller('fhir')
export class ClinicalController {
  constructor(
    private readonly decisions: AccessDecisionService,
    private readonly mpi: MpiGateway,
    private readonly audit: ExchangeAudit,
    @Inject(REGISTRY_UPSTREAM) private readonly registry: UpstreamClient,
    @Inject(EXCHANGE_SETTINGS) private readonly settings: ExchangeSettings,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  @Get('DocumentReference')
  @RequireScopes('system/DocumentReference.read')
  @ExchangeRoute('search-DocumentReference')
  @Header('content-type', FHIR_JSON)
  searchDocuments(@Req() request: Request): Promise<Bundle> {
    return this.search('DocumentReference', request);
  }

  @Get('Encounter')
  @RequireScopes('system/Encounter.read')
  @ExchangeRoute('search-Encounter')
  @Header('content-type', FHIR_JSON)
  searchEncounters(@Req() request: Request): Promise<Bundle> {
    return this.search('Encounter', request);
  }

  @Get('DiagnosticReport')
  @RequireScopes('system/DiagnosticReport.read')
  @ExchangeRoute('search-DiagnosticReport')
  @Header('content-type', FHIR_JSON)
  searchReports(@Req() request: Request): Promise<Bundle> {
    return this.search('DiagnosticReport', request);
  }

  @Get('Observation')
  @RequireScopes('system/Observation.read')
  @ExchangeRoute('search-Observation')
  @Header('content-type', FHIR_JSON)
  searchObservations(@Req() request: Request): Promise<Bundle> {
    return this.search('Observation', request);
  }

  /** `Patient/:id/$timeline`: needs read scope on all four clinical types (checked here beyond the first). */
  @Get('Patient/:id/:operation')
  @RequireScopes('system/DocumentReference.read')
  @ExchangeRoute('timeline')
  @Header('content-type', FHIR_JSON)
  async timeline(
    @Param('id') id: string,
    @Param('operation') operation: string,
    @Req() request: Request,
  ): Promise<Bundle> {
    if (operation !== '$timeline')
      throw outcomeError(404, 'not-supported', 'this Patient operation is not supported (only $timeline)');
    const caller = callerOf(request);
    const missing = CLINICAL_TYPES.filter((t) => !scopeCovers(caller.principal.scopes, t, 'read'));
    if (missing.length > 0) {
      this.audit.securityAlert(
        { reason: 'insufficient_scope', status: 403, path: request.path, method: 'GET' },
        caller.principal,
        caller.context,
      );
      throw outcomeError(
        403,
        'forbidden',
        `the timeline needs read scopes on ${CLINICAL_TYPES.join(', ')}; missing: ${missing.join(', ')}`,
      );
    }
    const params = checkedQuery(request, 'timeline');
    if (!FHIR_ID.test(id)) throw outcomeError(400, 'value', 'the path must name an enterprise id', 'id');
    const facts = {
      subtype: 'operation',
      action: 'E' as const,
      patients: [id],
      entities: [{ type: 'Patient', reference: `Patient/${id}`, query: '$timeline' }],
    };
    return audited(this.audit, caller, facts, () =>
      this.decideAndQuery(
        caller,
        { kind: 'enterprise', enterpriseId: id },
        'timeline',
        ['Patient', id, '$timeline'],
        params,
      ),
    );
  }

  @Get('DocumentReference/:id/_history')
  @RequireScopes('system/DocumentReference.read')
  @ExchangeRoute('history-DocumentReference')
  @Header('content-type', FHIR_JSON)
  historyOfDocument(@Param('id') id: string, @Req() request: Request): Promise<Bundle> {
    return this.history('DocumentReference', id, request);
  }

  @Get('Encounter/:id/_history')
  @RequireScopes('system/Encounter.read')
  @ExchangeRoute('history-Encounter')
  @Header('content-type', FHIR_JSON)
  historyOfEncounter(@Param('id') id: string, @Req() request: Request): Promise<Bundle> {
    return this.history('Encounter', id, request);
  }

  @Get('DiagnosticReport/:id/_history')
  @RequireScopes('system/DiagnosticReport.read')
  @ExchangeRoute('history-DiagnosticReport')
  @Header('content-type', FHIR_JSON)
  historyOfReport(@Param('id') id: string, @Req() request: Request): Promise<Bundle> {
    return this.history('DiagnosticReport', id, request);
  }

  @Get('Observation/:id/_history')
  @RequireScopes('system/Observation.read')
  @ExchangeRoute('history-Observation')
  @Header('content-type', FHIR_JSON)
  historyOfObservation(@Param('id') id: string, @Req() request: Request): Promise<Bundle> {
    return this.history('Observation', id, request);
  }

  /** ITI-68 through the DocumentReference: facts first, decide, then stream the bytes. */
  @Get('DocumentReference/:id/:operation')
  @RequireScopes('system/DocumentReference.read')
  @ExchangeRoute('content')
  async content(
    @Param('id') id: string,
    @Param('operation') operation: string,
    @Req() request: Request,
    @Res() response: Response,
  ): Promise<void> {
    if (operation !== '$content')
      throw outcomeError(
        404,
        'not-supported',
        'this DocumentReference operation is not supported (only $content)',
      );
    checkedQuery(request, 'content');
    if (!FHIR_ID.test(id)) throw outcomeError(400, 'value', 'the DocumentReference id is malformed', 'id');
    await this.sendContent(
      ['_facts', 'DocumentReference', id],
      ['DocumentReference', id, '$content'],
      `DocumentReference/${id}`,
      request,
      response,
    );
  }

  /** ITI-68 by content address. */
  @Get('Binary/:sha256')
  @RequireScopes('system/Binary.read')
  @ExchangeRoute('binary')
  async binary(
    @Param('sha256') sha256: string,
    @Req() request: Request,
    @Res() response: Response,
  ): Promise<void> {
    checkedQuery(request, 'binary');
    if (!SHA256.test(sha256))
      throw outcomeError(400, 'value', 'the Binary id is the lowercase hex SHA-256 of the content', 'id');
    await this.sendContent(
      ['_facts', 'Binary', sha256],
      ['Binary', sha256],
      `Binary/${sha256}`,
      request,
      response,
    );
  }

  // ---------------------------------------------------------------------------------------------

  private async search(type: ClinicalType, request: Request): Promise<Bundle> {
    const caller = callerOf(request);
    const params = checkedQuery(request, `search-${type}`);
    const patients = params.getAll('patient');
    const ref = patients.length === 1 ? parsePatientRef(patients[0] ?? '') : null;
    if (ref === null) {
      throw outcomeError(
        400,
        patients.length === 0 ? 'required' : 'value',
        'patient is required once: an enterprise id or system|value of a source identifier',
        'patient',
      );
    }
    const facts = {
      subtype: 'search-type',
      action: 'E' as const,
      entities: [{ type, query: params.toString().slice(0, 4000) }],
    };
    return audited(this.audit, caller, facts, () => this.decideAndQuery(caller, ref, type, [type], params));
  }

  /**
   * Resolve → decide → registry with the visibility → re-check → audit. On 409 (the registry
   * resolved the patient to another enterprise id, e.g. a link changed meanwhile) resolves once more.
   */
  private async decideAndQuery(
    caller: Caller,
    ref: PatientRef,
    what: string,
    path: readonly string[],
    params: URLSearchParams,
  ): Promise<Bundle> {
    const context = clinicalContext(caller);
    let access: AccessDecision | undefined;
    let bundle: Bundle | undefined;
    for (let attempt = 1; bundle === undefined; attempt += 1) {
      const enterpriseId = await this.resolve(ref);
      access = await this.decisions.decide(caller.principal, context, enterpriseId);
      try {
        bundle = (
          await this.registry.json<Bundle>({
            path,
            query: params,
            headers: { [VISIBILITY_HEADER]: access.header },
          })
        ).body;
      } catch (error) {
        if (
          error instanceof UpstreamStatusError &&
          error.status === 409 &&
          attempt === 1 &&
          ref.kind === 'source'
        )
          continue;
        throw upstreamError(error, 'the document registry');
      }
    }
    if (access === undefined) throw new Error('unreachable');
    const decided = access;
    const filtered = filterBundle(
      bundle,
      (f) => this.decisions.permits(decided, f),
      `${this.settings.EXCHANGE_PUBLIC_BASE_URL}/fhir`,
    );
    if (filtered.dropped > 0) {
      // The registry filtered with the same visibility: a drop here is a bug upstream (no PHI logged).
      this.logger.error(
        { dropped: filtered.dropped, what, clientId: caller.principal.clientId },
        'consent re-check dropped items the registry returned',
      );
    }
    await this.audit.record(caller.principal, context, {
      type: access.decision.breakGlass === 'applied' ? 'break-glass' : 'rest',
      subtype: what === 'timeline' ? 'operation' : 'search-type',
      action: 'E',
      patients: access.enterpriseId === null ? [] : [access.enterpriseId],
      entities: [
        { type: what === 'timeline' ? 'Patient' : what, query: params.toString().slice(0, 4000) },
        ...filtered.items,
      ],
      hiddenCount: filtered.dropped,
      breakGlass: access.decision.breakGlass === 'applied',
      detail: `returned ${filtered.kept}; reasons ${access.decision.reasons.join(',') || 'none'}`,
    });
    return filtered.bundle;
  }

  private async resolve(ref: PatientRef): Promise<string | null> {
    if (ref.kind === 'enterprise') return ref.enterpriseId;
    try {
      return await this.mpi.enterpriseIdOf(ref.system, ref.value);
    } catch (error) {
      throw upstreamError(error, 'the MPI');
    }
  }

  private async history(type: ClinicalType, id: string, request: Request): Promise<Bundle> {
    const caller = callerOf(request);
    const context = clinicalContext(caller);
    checkedQuery(request, `history-${type}`);
    if (!FHIR_ID.test(id)) throw outcomeError(400, 'value', `the ${type} id is malformed`, 'id');
    const facts = {
      subtype: 'history-instance',
      action: 'R' as const,
      entities: [{ type, reference: `${type}/${id}` }],
    };
    return audited(this.audit, caller, facts, async () => {
      const permitted = await this.permittedFact(caller, await this.facts(['_facts', type, id]));
      if (permitted === null) throw outcomeError(404, 'not-found', `${type} not found`);
      let bundle: Bundle;
      try {
        bundle = (
          await this.registry.json<Bundle>({
            path: [type, id, '_history'],
            headers: { [VISIBILITY_HEADER]: permitted.access.header },
          })
        ).body;
      } catch (error) {
        throw upstreamError(error, 'the document registry');
      }
      const filtered = filterBundle(
        bundle,
        (f) => this.decisions.permits(permitted.access, f),
        `${this.settings.EXCHANGE_PUBLIC_BASE_URL}/fhir`,
      );
      if (filtered.kept === 0) throw outcomeError(404, 'not-found', `${type} not found`);
      await this.audit.record(caller.principal, context, {
        ...facts,
        type: permitted.access.decision.breakGlass === 'applied' ? 'break-glass' : 'rest',
        patients: permitted.access.enterpriseId === null ? [] : [permitted.access.enterpriseId],
        entities: facts.entities.map((e) => ({ ...e, sourceInstitution: permitted.sourceInstitution })),
        hiddenCount: filtered.dropped,
        breakGlass: permitted.access.decision.breakGlass === 'applied',
      });
      return filtered.bundle;
    });
  }

  private async sendContent(
    factsPath: readonly string[],
    contentPath: readonly string[],
    reference: string,
    request: Request,
    response: Response,
  ): Promise<void> {
    const caller = callerOf(request);
    const context = clinicalContext(caller);
    const facts = {
      subtype: 'read',
      action: 'R' as const,
      entities: [{ type: reference.split('/')[0] ?? 'Binary', reference }],
    };
    await audited(this.audit, caller, facts, async () => {
      const permitted = await this.permittedFact(caller, await this.facts(factsPath));
      if (permitted === null)
        throw outcomeError(404, 'not-found', `${reference.split('/')[0] ?? 'content'} not found`);
      const headers: Record<string, string> = { [VISIBILITY_HEADER]: permitted.access.header };
      const inm = request.headers['if-none-match'];
      if (typeof inm === 'string' && inm.length <= 100) headers['if-none-match'] = inm;
      let upstream: globalThis.Response;
      try {
        upstream = await this.registry.send({ path: contentPath, headers });
      } catch (error) {
        throw upstreamError(error, 'the document registry');
      }
      if (upstream.status !== 200 && upstream.status !== 304) {
        await upstream.body?.cancel();
        throw upstreamError(
          new UpstreamStatusError('registry', upstream.status, undefined),
          'the document registry',
        );
      }
      await this.audit.record(caller.principal, context, {
        ...facts,
        type: permitted.access.decision.breakGlass === 'applied' ? 'break-glass' : 'rest',
        patients: permitted.access.enterpriseId === null ? [] : [permitted.access.enterpriseId],
        entities: facts.entities.map((e) => ({ ...e, sourceInstitution: permitted.sourceInstitution })),
        breakGlass: permitted.access.decision.breakGlass === 'applied',
      });
      response.status(upstream.status);
      for (const name of CONTENT_HEADERS) {
        const value = upstream.headers.get(name);
        if (value !== null) response.setHeader(name, value);
      }
      if (upstream.body === null || upstream.status === 304) {
        response.end();
        return;
      }
      await new Promise<void>((resolve, reject) => {
        Readable.fromWeb(upstream.body as WebReadableStream<Uint8Array>)
          .on('error', reject)
          .pipe(response)
          .on('finish', resolve)
          .on('error', reject);
      });
    });
  }

  private async facts(path: readonly string[]): Promise<Fact[]> {
    try {
      const { body } = await this.registry.json<unknown>({ path });
      const items = Array.isArray(body) ? body : (body as { items?: unknown } | undefined)?.items;
      return Array.isArray(items) ? (items as Fact[]) : [];
    } catch (error) {
      if (error instanceof UpstreamStatusError && error.status === 404) return [];
      throw upstreamError(error, 'the document registry');
    }
  }

  /**
   * The first fact (copy of an item) the caller may see, with the decision that permits it and the
   * institution that contributed that copy (for the audit record); null
   * when none is visible (answered 404, so a hidden item is indistinguishable from a missing one).
   */
  private async permittedFact(
    caller: Caller,
    facts: readonly Fact[],
  ): Promise<{ access: AccessDecision; sourceInstitution: string } | null> {
    const context = clinicalContext(caller);
    const byPerson = new Map<string | null, AccessDecision>();
    for (const fact of facts) {
      let access = byPerson.get(fact.enterpriseId);
      if (access === undefined) {
        access = await this.decisions.decide(caller.principal, context, fact.enterpriseId);
        byPerson.set(fact.enterpriseId, access);
      }
      if (
        this.decisions.permits(access, {
          sourceInstitution: fact.sourceInstitution,
          securityLabels: fact.securityLabels ?? [],
        })
      )
        return { access, sourceInstitution: fact.sourceInstitution };
    }
    return null;
  }
}
