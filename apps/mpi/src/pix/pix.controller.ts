import { Controller, Get, Header, HttpStatus, Query, UseFilters } from '@nestjs/common';
import { RequireService } from '@tessera/platform-auth';
import type { Parameters } from '@medplum/fhirtypes';
import { FHIR_JSON, OperationOutcomeException, OperationOutcomeFilter } from '@tessera/platform-service';
import { IdentityQueryService } from '../identity/identity-query.service';
import { ENTERPRISE_ID_SYSTEM } from '../pdq/golden-record.projection';
import { parseToken, pixParameters } from './pix-parameters';

function list(value: unknown): string[] {
  const values = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return values
    .filter((v): v is string => typeof v === 'string')
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

/** PIXm "Get Corresponding Identifiers" [ITI-83]: `GET /Patient/$ihe-pix`. */
@Controller('Patient')
@UseFilters(OperationOutcomeFilter)
@RequireService()
export class PixController {
  constructor(private readonly identities: IdentityQueryService) {}

  @Get('$ihe-pix')
  @Header('Content-Type', FHIR_JSON)
  async pix(@Query('sourceIdentifier') sourceIdentifier: unknown, @Query('targetSystem') targetSystem: unknown): Promise<Parameters> {
    const source = typeof sourceIdentifier === 'string' ? parseToken(sourceIdentifier) : undefined;
    if (source === undefined) {
      throw new OperationOutcomeException(HttpStatus.BAD_REQUEST, [
        { code: 'required', diagnostics: 'sourceIdentifier is required once, as system|value', expression: 'sourceIdentifier' },
      ]);
    }
    const targets = list(targetSystem);
    for (const system of targets) {
      // ITI-83 §3.83.4.1.3: a targetSystem the MPI does not know is answered 403.
      if (system !== ENTERPRISE_ID_SYSTEM && !(await this.identities.knownSystem(system))) {
        throw new OperationOutcomeException(HttpStatus.FORBIDDEN, [
          { code: 'code-invalid', diagnostics: 'targetSystem is not an assigning authority known to the MPI', expression: 'targetSystem' },
        ]);
      }
    }
    let enterpriseId: string | undefined;
    if (source.system === ENTERPRISE_ID_SYSTEM) {
      if (/^[0-9a-f-]{36}$/i.test(source.value) && (await this.identities.enterpriseIdExists(source.value))) enterpriseId = source.value;
    } else {
      enterpriseId = (await this.identities.resolve(source.system, source.value))?.enterpriseId;
    }
    if (enterpriseId === undefined) {
      // ITI-83: an unknown source identifier is 404 with an OperationOutcome.
      throw new OperationOutcomeException(HttpStatus.NOT_FOUND, [
        { code: 'not-found', diagnostics: 'sourceIdentifier is not known to the MPI', expression: 'sourceIdentifier' },
      ]);
    }
    return pixParameters(enterpriseId, await this.identities.members(enterpriseId), source, targets);
  }
}
