import { Controller, Get, Inject, Param, Post, Put, Req, Res } from '@nestjs/common';
import { RequireScopes } from '@tessera/platform-auth';
import { FHIR_JSON } from '@tessera/platform-service';
import type { Request, Response } from 'express';
import { ExchangeAudit } from '../audit/exchange-audit.service';
import { ExchangeRoute } from '../context/exchange-request.interceptor';
import { FHIR_ID, parsePatientRef } from '../context/search-hygiene';
import { EXCHANGE_SETTINGS } from '../exchange.config';
import type { ExchangeSettings } from '../exchange.config';
import { outcomeError } from '../http/outcome';
import { AccessDecisionService, institutionOf } from '../policy/access-decision.service';
import { rebase } from '../policy/item-facts';
import type { UpstreamClient } from '../upstream/upstream.client';
import { CONSENT_UPSTREAM } from '../upstream/upstream.tokens';
import { audited, callerOf, checkedQuery, jsonBody, upstreamError } from './exchange-call';
import type { Caller } from './exchange-call';

export const REQUESTING_INSTITUTION_HEADER = 'x-tessera-requesting-institution';
const PASSED_HEADERS = ['etag', 'location', 'last-modified', 'content-location'];

/** `Patient/<eid>` of a Consent's `patient` reference, if that is what it names. */
function patientOf(body: unknown): string | undefined {
  const reference = (body as { patient?: { reference?: unknown } } | undefined)?.patient?.reference;
  if (typeof reference !== 'string' || !reference.startsWith('Patient/')) return undefined;
  const id = reference.slice('Patient/'.length);
  return FHIR_ID.test(id) ? id : undefined;
}

/**
 * Consent directives and "who accessed my record", forwarded to the consent service with the
 * service token and X-Tessera-Requesting-Institution. The consent service decides who may do what
 * with a directive (it belongs to the institution that recorded it: another institution's read or
 * change is a 403 OperationOutcome, a search Bundle holds the caller's own directives plus an
 * `outcome` entry when others restrict sharing); its answers are relayed unchanged, a 403 is
 * audited as a security alert. The exchange checks nothing about directives first, so every
 * refusal comes from one place and reads the same. The AuditEvent search is allowed only for an
 * institution holding a record of the patient (policy.holdingInstitutions), checked here first;
 * the consent service then shows it only the accesses to items it contributed.
 */
@Controller('fhir')
export class ConsentController {
  constructor(
    private readonly decisions: AccessDecisionService,
    private readonly audit: ExchangeAudit,
    @Inject(CONSENT_UPSTREAM) private readonly consent: UpstreamClient,
    @Inject(EXCHANGE_SETTINGS) private readonly settings: ExchangeSettings,
  ) {}

  @Post('Consent')
  @RequireScopes('system/Consent.create')
  @ExchangeRoute('consent-create')
  async create(@Req() request: Request, @Res() response: Response): Promise<void> {
    const caller = callerOf(request);
    checkedQuery(request, 'consent-create');
    const body = jsonBody(request, 'Consent');
    await this.forward(
      caller,
      response,
      { method: 'POST', path: ['Consent'], body },
      { subtype: 'create', action: 'C', patient: patientOf(body) },
    );
  }

  @Put('Consent/:id')
  @RequireScopes('system/Consent.update')
  @ExchangeRoute('consent-update')
  async update(@Param('id') id: string, @Req() request: Request, @Res() response: Response): Promise<void> {
    const caller = callerOf(request);
    checkedQuery(request, 'consent-update');
    if (!FHIR_ID.test(id)) throw outcomeError(400, 'value', 'the Consent id is malformed', 'id');
    const body = jsonBody(request, 'Consent');
    const ifMatch = request.headers['if-match'];
    const headers: Record<string, string> =
      typeof ifMatch === 'string' && ifMatch.length <= 100 ? { 'if-match': ifMatch } : {};
    await this.forward(
      caller,
      response,
      { method: 'PUT', path: ['Consent', id], body, headers },
      { subtype: 'update', action: 'U', patient: patientOf(body), reference: `Consent/${id}` },
    );
  }

  @Get('Consent/:id')
  @RequireScopes('system/Consent.read')
  @ExchangeRoute('consent-read')
  async read(@Param('id') id: string, @Req() request: Request, @Res() response: Response): Promise<void> {
    const caller = callerOf(request);
    checkedQuery(request, 'consent-read');
    if (!FHIR_ID.test(id)) throw outcomeError(400, 'value', 'the Consent id is malformed', 'id');
    await this.forward(
      caller,
      response,
      { method: 'GET', path: ['Consent', id] },
      { subtype: 'read', action: 'R', patient: undefined, reference: `Consent/${id}` },
    );
  }

  @Get('Consent')
  @RequireScopes('system/Consent.read')
  @ExchangeRoute('consent-search')
  async search(@Req() request: Request, @Res() response: Response): Promise<void> {
    const caller = callerOf(request);
    const params = checkedQuery(request, 'consent-search');
    const patients = params.getAll('patient');
    const ref = patients.length === 1 ? parsePatientRef(patients[0] ?? '') : null;
    if (ref === null)
      throw outcomeError(
        400,
        'required',
        'patient is required once: an enterprise id or system|value',
        'patient',
      );
    await this.forward(
      caller,
      response,
      { method: 'GET', path: ['Consent'], query: params },
      {
        subtype: 'search-type',
        action: 'E',
        patient: ref.kind === 'enterprise' ? ref.enterpriseId : undefined,
        query: params.toString(),
      },
    );
  }

  @Get('AuditEvent')
  @RequireScopes('system/AuditEvent.read')
  @ExchangeRoute('audit-search')
  async auditEvents(@Req() request: Request, @Res() response: Response): Promise<void> {
    const caller = callerOf(request);
    const params = checkedQuery(request, 'audit-search');
    const patients = params.getAll('patient');
    const raw = patients.length === 1 ? (patients[0] ?? '').replace(/^Patient\//, '') : '';
    if (!FHIR_ID.test(raw))
      throw outcomeError(400, 'required', 'patient is required once: an enterprise id', 'patient');
    const facts = {
      subtype: 'search-type',
      action: 'E' as const,
      patients: [raw],
      entities: [{ type: 'AuditEvent', query: params.toString().slice(0, 4000) }],
    };
    await audited(this.audit, caller, facts, async () => {
      const policy = await this.decisions.policyOrUnavailable(raw);
      if (policy === null || !policy.holdingInstitutions.includes(institutionOf(caller.principal))) {
        throw outcomeError(
          403,
          'forbidden',
          'the audit trail of a patient is shown only to institutions holding a record of that patient',
        );
      }
      const query = new URLSearchParams(params);
      query.set('patient', raw);
      await this.forward(
        caller,
        response,
        { method: 'GET', path: ['AuditEvent'], query },
        { subtype: 'search-type', action: 'E', patient: raw, query: params.toString(), type: 'AuditEvent' },
        false,
      );
    });
  }

  private async forward(
    caller: Caller,
    response: Response,
    call: {
      method: 'GET' | 'POST' | 'PUT';
      path: string[];
      body?: unknown;
      query?: URLSearchParams;
      headers?: Record<string, string>;
    },
    audit: {
      subtype: string;
      action: 'C' | 'R' | 'U' | 'E';
      patient: string | undefined;
      reference?: string;
      query?: string;
      type?: string;
    },
    wrap = true,
  ): Promise<void> {
    const facts = {
      subtype: audit.subtype,
      action: audit.action,
      patients: audit.patient === undefined ? [] : [audit.patient],
      entities: [
        {
          type: audit.type ?? 'Consent',
          ...(audit.reference === undefined ? {} : { reference: audit.reference }),
          ...(audit.query === undefined ? {} : { query: audit.query.slice(0, 4000) }),
        },
      ],
    };
    const work = async (): Promise<void> => {
      let upstream: globalThis.Response;
      try {
        upstream = await this.consent.send({
          method: call.method,
          path: call.path,
          ...(call.query === undefined ? {} : { query: call.query }),
          ...(call.body === undefined ? {} : { body: call.body }),
          headers: { ...call.headers, [REQUESTING_INSTITUTION_HEADER]: institutionOf(caller.principal) },
        });
      } catch (error) {
        throw upstreamError(error, 'the consent service');
      }
      const text = await upstream.text();
      if (upstream.status >= 500)
        throw upstreamError(new Error('consent service error'), 'the consent service');
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw outcomeError(
          503,
          'transient',
          'the consent service answered something that is not JSON; nothing was changed on this side',
        );
      }
      const patient = audit.patient ?? patientOf(parsed);
      const institutionId = institutionOf(caller.principal);
      await this.audit.record(caller.principal, caller.context, {
        ...facts,
        // Another institution's directive (the consent service answers 403): a refused call.
        ...(upstream.status === 403 ? { type: 'security-alert' as const } : {}),
        patients: patient === undefined ? [] : [patient],
        entities:
          upstream.status < 400 && audit.type === undefined
            ? [...facts.entities, ...directivesIn(parsed, institutionId)]
            : facts.entities,
        outcome: upstream.status < 400 ? '0' : '4',
        ...(upstream.status < 400 ? {} : { outcomeDesc: outcomeDescOf(upstream.status, parsed) }),
      });
      for (const name of PASSED_HEADERS) {
        const value = upstream.headers.get(name);
        if (value === null) continue;
        response.setHeader(
          name,
          name === 'location' || name === 'content-location'
            ? rebase(value, `${this.settings.EXCHANGE_PUBLIC_BASE_URL}/fhir`)
            : value,
        );
      }
      response.status(upstream.status).type(FHIR_JSON).send(JSON.stringify(parsed));
    };
    if (wrap) await audited(this.audit, caller, facts, work);
    else await work();
  }
}

/**
 * The directives an answer of the consent service carries (a Consent, or the Consent entries of a
 * search Bundle), as audit entities. The consent service answers an institution only with the
 * directives it recorded, so each is an item that institution contributed ("who accessed my
 * record" shows it the accesses to them).
 */
function directivesIn(
  answer: unknown,
  institutionId: string,
): { type: string; reference: string; sourceInstitution: string }[] {
  const resources =
    (answer as { resourceType?: unknown }).resourceType === 'Bundle'
      ? ((answer as { entry?: { resource?: unknown }[] }).entry ?? []).map((e) => e.resource)
      : [answer];
  return resources
    .map((r) => r as { resourceType?: unknown; id?: unknown } | undefined)
    .filter((r) => r?.resourceType === 'Consent' && typeof r.id === 'string' && FHIR_ID.test(r.id))
    .map((r) => ({
      type: 'Consent',
      reference: `Consent/${String(r?.id)}`,
      sourceInstitution: institutionId,
    }));
}

/** `403 forbidden`: the status and the first issue code of the answer (no diagnostics: no data). */
function outcomeDescOf(status: number, answer: unknown): string {
  const code = (answer as { issue?: { code?: unknown }[] } | undefined)?.issue?.[0]?.code;
  return typeof code === 'string' && /^[a-z-]{1,40}$/.test(code) ? `${status} ${code}` : String(status);
}
