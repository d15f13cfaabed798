import type { ArgumentsHost, ExceptionFilter } from '@nestjs/common';
import { Catch, HttpException, HttpStatus, Inject } from '@nestjs/common';
import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';
import type { Response } from 'express';
import type { Logger } from 'pino';
import { LOGGER } from '@tessera/platform-service';

// Adapted from apps/interop-gateway/src/fhir/operation-outcome.ts (apps do not import each other).

/** FHIR R4 IssueType codes the registry reports (http://hl7.org/fhir/R4/valueset-issue-type.html). */
export type IssueCode = 'invalid' | 'required' | 'value' | 'not-found' | 'not-supported' | 'exception';

export interface Issue {
  readonly severity?: 'fatal' | 'error' | 'warning' | 'information';
  readonly code: IssueCode;
  /** Says what is wrong and what to do; never echoes submitted values (no PHI). */
  readonly diagnostics: string;
  /** The search parameter or path at fault, e.g. `date`. */
  readonly expression?: string;
}

export const FHIR_JSON = 'application/fhir+json; charset=utf-8';

/** Builds an OperationOutcome (FHIR R4 §2.38) with one issue per problem. */
export function operationOutcome(issues: readonly Issue[]): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: issues.map((i): OperationOutcomeIssue => ({
      severity: i.severity ?? 'error',
      code: i.code,
      diagnostics: i.diagnostics,
      ...(i.expression === undefined ? {} : { expression: [i.expression] }),
    })),
  };
}

/** An HTTP error whose body is an OperationOutcome. */
export class OperationOutcomeException extends HttpException {
  constructor(status: HttpStatus, issues: readonly Issue[]) {
    super(operationOutcome(issues), status);
  }

  get outcome(): OperationOutcome {
    return this.getResponse() as OperationOutcome;
  }
}

const STATUS_CODES: Readonly<Record<number, IssueCode>> = {
  400: 'invalid',
  404: 'not-found',
  405: 'not-supported',
};

/** Renders every error of the registry's FHIR endpoints as an OperationOutcome; 500s keep details in the log. */
@Catch()
export class OperationOutcomeFilter implements ExceptionFilter {
  constructor(@Inject(LOGGER) private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    let status: number;
    let body: OperationOutcome;
    if (exception instanceof OperationOutcomeException) {
      status = exception.getStatus();
      body = exception.outcome;
    } else if (exception instanceof HttpException) {
      status = exception.getStatus();
      const payload = exception.getResponse();
      const message =
        typeof payload === 'object' && payload !== null && 'message' in payload
          ? String(payload.message)
          : exception.message;
      body = operationOutcome([
        { code: STATUS_CODES[status] ?? (status >= 500 ? 'exception' : 'invalid'), diagnostics: message },
      ]);
    } else {
      status = HttpStatus.INTERNAL_SERVER_ERROR;
      this.logger.error({ err: exception }, 'request failed');
      body = operationOutcome([
        {
          severity: 'fatal',
          code: 'exception',
          diagnostics:
            'Internal error; the request was not completed. Try again; if it persists, contact the exchange operators.',
        },
      ]);
    }
    if (response.headersSent) return;
    response.status(status).type(FHIR_JSON).send(JSON.stringify(body));
  }
}
