import { Controller, Headers, HttpStatus, Post, Req, Res, UseFilters } from '@nestjs/common';
import { CurrentPrincipal, RequireScopes } from '@tessera/platform-auth';
import type { Principal } from '@tessera/platform-auth';
import type { Bundle, OperationOutcome } from '@medplum/fhirtypes';
import type { Request, Response } from 'express';
import { InstitutionRegistry } from '../institutions/institution.registry';
import type { Institution } from '../institutions/institution';
import { fhirBodyOf } from './fhir-body.reader';
import { FhirIngestHandler } from './fhir-ingest.handler';
import type { FhirIngestResult } from './fhir-ingest.handler';
import {
  FHIR_JSON,
  operationOutcome,
  OperationOutcomeException,
  OperationOutcomeFilter,
} from '@tessera/platform-service';

const ACCEPTED_TYPES: ReadonlySet<string> = new Set(['application/fhir+json', 'application/json']);

/** The registered, active institution of the caller's token: 403 when it has none or is unknown. */
export function submittingInstitution(
  principal: Principal,
  lookup: (id: string) => Institution | undefined,
): Institution {
  const institution = principal.institutionId === null ? undefined : lookup(principal.institutionId);
  if (institution === undefined || !institution.active) {
    throw new OperationOutcomeException(HttpStatus.FORBIDDEN, [
      {
        code: 'forbidden',
        diagnostics: 'The client is not an institution registered (and active) at the exchange.',
      },
    ]);
  }
  return institution;
}

/** The FHIR answer to an accepted submission (R4 §3.3.1: transaction-response entries match the request's). */
export function ingestResponse(result: FhirIngestResult): Bundle | OperationOutcome {
  if (result.bundleType === 'message') {
    return operationOutcome([
      {
        severity: 'information',
        code: result.duplicate ? 'duplicate' : 'informational',
        diagnostics: result.duplicate
          ? 'This Bundle was received before; it was not processed again.'
          : `Accepted: ${result.locations.length} entries, ${result.events} event(s) published.`,
      },
    ]);
  }
  return {
    resourceType: 'Bundle',
    type: 'transaction-response',
    entry: result.locations.map((location) => ({
      response: { status: result.duplicate ? '200 OK' : '201 Created', location },
    })),
  };
}

/** FHIR R4 ingest of institutions' Bundles (transaction or message). */
@Controller('fhir')
@UseFilters(OperationOutcomeFilter)
export class FhirController {
  constructor(
    private readonly institutions: InstitutionRegistry,
    private readonly handler: FhirIngestHandler,
  ) {}

  @Post(['', 'Bundle'])
  @RequireScopes('Bundle', 'write')
  async ingest(
    @Req() req: Request,
    @CurrentPrincipal() principal: Principal,
    @Headers('content-type') contentType: string | undefined,
    @Res({ passthrough: true }) response: Response,
  ): Promise<string> {
    const institution = submittingInstitution(principal, (id) => this.institutions.get(id)?.institution);
    const mime = (contentType ?? '').split(';')[0].trim().toLowerCase();
    if (!ACCEPTED_TYPES.has(mime)) {
      throw new OperationOutcomeException(HttpStatus.UNSUPPORTED_MEDIA_TYPE, [
        {
          code: 'not-supported',
          expression: 'Content-Type',
          diagnostics: 'Send the Bundle as application/fhir+json (or application/json).',
        },
      ]);
    }
    const body = await fhirBodyOf(req);
    const result = await this.handler.ingest(
      body,
      institution,
      req.socket.remoteAddress ?? '',
      principal.clientId,
    );
    response.status(HttpStatus.OK);
    response.setHeader('Content-Type', FHIR_JSON);
    response.setHeader('X-Tessera-Ledger-Id', result.ledgerId);
    return JSON.stringify(ingestResponse(result));
  }
}
