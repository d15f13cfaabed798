import type { IncomingMessage } from 'node:http';
import {
  Controller,
  Get,
  Header,
  Headers,
  HttpCode,
  HttpStatus,
  Param,
  Post,
  Put,
  Query,
  Req,
  Res,
  UseFilters,
} from '@nestjs/common';
import type { Response } from 'express';
import type { Bundle, BundleEntry, Consent, OperationOutcome } from '@tessera/contracts';
import type { ConsentAnchor, DirectiveStatus } from '@tessera/consent-policy';
import { CurrentPrincipal, RequireRolesOrService } from '@tessera/platform-auth';
import type { Principal } from '@tessera/platform-auth';
import {
  FHIR_JSON,
  OperationOutcomeException,
  OperationOutcomeFilter,
  readFhirJson,
} from '@tessera/platform-service';
import { callerOf, REASON_HEADER, REQUESTING_INSTITUTION_HEADER } from '../http/consent-caller';
import { etagOf, expectedVersionOf } from '../http/if-match';
import { ConsentDirectiveHandler } from './consent-directive.handler';
import type { StoredDirective } from './directive.repository';

const STATUSES: readonly DirectiveStatus[] = [
  'draft',
  'proposed',
  'active',
  'rejected',
  'inactive',
  'entered-in-error',
];

/** `patient=<enterprise id>` or `patient=<system>|<value>` (FHIR token search on the anchor). */
export function parsePatientParam(patient: unknown): ConsentAnchor {
  const text = typeof patient === 'string' ? patient.trim() : '';
  const bar = text.indexOf('|');
  if (bar > 0 && bar < text.length - 1) {
    return { kind: 'source', system: text.slice(0, bar), value: text.slice(bar + 1) };
  }
  const eid = text.startsWith('Patient/') ? text.slice('Patient/'.length) : text;
  if (/^[A-Za-z0-9\-.]{1,64}$/.test(eid)) return { kind: 'enterprise', enterpriseId: eid };
  throw new OperationOutcomeException(HttpStatus.BAD_REQUEST, [
    {
      code: 'required',
      expression: 'patient',
      diagnostics: 'Search by patient=<enterprise id> or patient=<identifier system>|<identifier value>.',
    },
  ]);
}

export function parseStatusParam(status: unknown): DirectiveStatus | undefined {
  if (status === undefined || status === '') return undefined;
  if (typeof status === 'string' && (STATUSES as readonly string[]).includes(status))
    return status as DirectiveStatus;
  throw new OperationOutcomeException(HttpStatus.BAD_REQUEST, [
    {
      code: 'code-invalid',
      expression: 'status',
      diagnostics: `status must be one of ${STATUSES.join(', ')}.`,
    },
  ]);
}

/**
 * The searchset's outcome entry for an institution (FHIR R4 Bundle.entry.search.mode `outcome`):
 * directives recorded by others restrict this patient's sharing; how many, never what they say.
 */
export function hiddenDirectivesOutcome(count: number): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: [
      {
        severity: 'information',
        code: 'informational',
        diagnostics: `${count} consent directive(s) recorded by other institutions restrict sharing of this patient's data; their content is not shown.`,
      },
    ],
  };
}

function sendResource(response: Response, status: number, stored: StoredDirective): Consent {
  response.status(status);
  response.setHeader('ETag', etagOf(stored.directive.version));
  response.setHeader('Last-Modified', new Date(stored.directive.recordedAt).toUTCString());
  response.type(FHIR_JSON);
  return stored.resource;
}

/**
 * FHIR Consent API of the consent service (README "HTTP API"): operators with consent.write /
 * consent.read, privacy officers, or the exchange's service token on behalf of an institution
 * (X-Tessera-Requesting-Institution), which records consent only for patients it holds and reads
 * or changes only the directives it recorded (README "Ownership of consent").
 */
@Controller('Consent')
@UseFilters(OperationOutcomeFilter)
export class ConsentController {
  constructor(private readonly handler: ConsentDirectiveHandler) {}

  @Post()
  @RequireRolesOrService('consent.write')
  async create(
    @Req() request: IncomingMessage,
    @Res({ passthrough: true }) response: Response,
    @CurrentPrincipal() principal: Principal | undefined,
    @Headers(REQUESTING_INSTITUTION_HEADER) institution: string | undefined,
  ): Promise<Consent> {
    const caller = callerOf(principal, institution);
    const result = await this.handler.create(await readFhirJson(request), caller);
    response.setHeader(
      'Location',
      `Consent/${result.stored.directive.id}/_history/${result.stored.directive.version}`,
    );
    return sendResource(response, HttpStatus.CREATED, result.stored);
  }

  @Put(':id')
  @RequireRolesOrService('consent.write', 'privacy.officer')
  async update(
    @Param('id') id: string,
    @Req() request: IncomingMessage,
    @Res({ passthrough: true }) response: Response,
    @CurrentPrincipal() principal: Principal | undefined,
    @Headers(REQUESTING_INSTITUTION_HEADER) institution: string | undefined,
    @Headers('if-match') ifMatch: string | undefined,
    @Headers(REASON_HEADER) reason: string | undefined,
  ): Promise<Consent> {
    const caller = callerOf(principal, institution);
    const expected = expectedVersionOf(ifMatch);
    const result = await this.handler.update(id, await readFhirJson(request), expected, caller, reason);
    return sendResource(response, HttpStatus.OK, result.stored);
  }

  @Get(':id')
  @RequireRolesOrService('consent.read', 'consent.write', 'privacy.officer')
  async read(
    @Param('id') id: string,
    @Res({ passthrough: true }) response: Response,
    @CurrentPrincipal() principal: Principal | undefined,
    @Headers(REQUESTING_INSTITUTION_HEADER) institution: string | undefined,
  ): Promise<Consent> {
    return sendResource(
      response,
      HttpStatus.OK,
      await this.handler.read(id, callerOf(principal, institution)),
    );
  }

  @Get()
  @HttpCode(HttpStatus.OK)
  @Header('Content-Type', FHIR_JSON)
  @RequireRolesOrService('consent.read', 'consent.write', 'privacy.officer')
  async search(
    @Query('patient') patient: unknown,
    @Query('status') status: unknown,
    @CurrentPrincipal() principal: Principal | undefined,
    @Headers(REQUESTING_INSTITUTION_HEADER) institution: string | undefined,
  ): Promise<Bundle<Consent | OperationOutcome>> {
    const caller = callerOf(principal, institution);
    const found = await this.handler.search(parsePatientParam(patient), parseStatusParam(status), caller);
    const entry: BundleEntry<Consent | OperationOutcome>[] = found.matches.map((s) => ({
      fullUrl: `Consent/${s.directive.id}`,
      resource: s.resource,
      search: { mode: 'match' },
    }));
    if (found.hiddenRestricting > 0)
      entry.push({ resource: hiddenDirectivesOutcome(found.hiddenRestricting), search: { mode: 'outcome' } });
    return { resourceType: 'Bundle', type: 'searchset', total: found.matches.length, entry };
  }
}
