import { Controller, Get, HttpStatus, Param, UseFilters } from '@nestjs/common';
import type { PatientPolicy } from '@tessera/consent-policy';
import { RequireService } from '@tessera/platform-auth';
import { OperationOutcomeException, OperationOutcomeFilter } from '@tessera/platform-service';
import { PatientPolicyService } from './patient-policy.service';

/** The exchange's view of a person's consent inputs (design "Policy cache protocol": asked on a cache miss). */
@Controller('internal/policy')
@UseFilters(OperationOutcomeFilter)
export class InternalPolicyController {
  constructor(private readonly policies: PatientPolicyService) {}

  @Get(':enterpriseId')
  @RequireService()
  async policy(@Param('enterpriseId') enterpriseId: string): Promise<PatientPolicy> {
    if (!/^[A-Za-z0-9\-.]{1,64}$/.test(enterpriseId)) {
      throw new OperationOutcomeException(HttpStatus.BAD_REQUEST, [
        { code: 'invalid', expression: 'enterpriseId', diagnostics: 'An enterprise id is 1-64 of A-Z a-z 0-9 - .' },
      ]);
    }
    const policy = await this.policies.policyOf(enterpriseId);
    if (policy === null) {
      throw new OperationOutcomeException(HttpStatus.NOT_FOUND, [
        { code: 'not-found', diagnostics: 'The consent service knows no record, directive or grant of this enterprise id.' },
      ]);
    }
    return policy;
  }
}
