import type { ArgumentsHost, ExceptionFilter } from '@nestjs/common';
import { Catch, HttpException, HttpStatus, Inject } from '@nestjs/common';
import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';
import type { Response } from 'express';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { LOGGER } from './tokens';

/** FHIR R4 IssueSeverity and the IssueType codes the services report (http://hl7.org/fhir/R4/valueset-issue-type.html). */
export type IssueSeverity = 'fatal' | 'error' | 'warning' | 'information';
export type IssueCode =
  | 'invalid'
  | 'structure'
  | 'required'
  | 'value'
  | 'code-invalid'
  | 'invariant'
  | 'security'
  | 'login'
  | 'forbidden'
  | 'not-supported'
  | 'duplicate'
  | 'not-found'
  | 'conflict'
  | 'too-costly'
  | 'business-rule'
  | 'processing'
  | 'exception'
  | 'throttled'
  | 'transient'
  | 'suppressed'
  | 'informational';

export interface Issue {
  readonly severity?: IssueSeverity;
  readonly code: IssueCode;
  /** Says what is wrong and what to do; never echoes submitted values (no PHI). */
  readonly diagnostics: string;
  /** FHIRPath / parameter naming where the problem is, e.g. `Bundle.entry[2].resource.status`. */
  readonly expression?: string;
}

export const FHIR_JSON = 'application/fhir+json; charset=utf-8';

/** Builds an OperationOutcome (FHIR R4 §2.38) with one issue per problem; severity defaults to error. */
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

/** An HTTP error whose body is an OperationOutcome; thrown by controllers, rendered by OperationOutcomeFilter. */
export class OperationOutcomeException extends HttpException {
  constructor(status: HttpStatus, issues: readonly Issue[]) {
    super(operationOutcome(issues), status);
  }

  get outcome(): OperationOutcome {
    return this.getResponse() as OperationOutcome;
  }
}

/** `path` as FHIRPath-like text: `root.a[2].b` (root omitted when empty). */
export function formatPath(root: string, path: ReadonlyArray<PropertyKey>): string {
  let text = root;
  for (const part of path) {
    if (typeof part === 'number') text += `[${part}]`;
    else text += text === '' ? String(part) : `.${String(part)}`;
  }
  return text === '' ? root : text;
}

/**
 * Zod issues as OperationOutcome issues. Zod's messages name the expected type, pattern or values
 * of the schema, never the submitted value, so they carry no PHI.
 */
export function issuesFromZod(error: z.ZodError, root: string): Issue[] {
  return error.issues.flatMap((i): Issue[] =>
    i.code === 'unrecognized_keys'
      ? i.keys.map((key) => ({
          code: 'invalid',
          diagnostics: 'unknown element or parameter',
          expression: formatPath(root, [...i.path, key]),
        }))
      : [issueFromZod(i, root)],
  );
}

/** The value parsed by `schema`, or a 400 OperationOutcome naming each problem under `root`. */
export function parseOrBadRequest<T>(schema: z.ZodType<T>, value: unknown, root = ''): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new OperationOutcomeException(HttpStatus.BAD_REQUEST, issuesFromZod(result.error, root));
}

function issueFromZod(i: z.core.$ZodIssue, root: string): Issue {
  return {
    code: i.code === 'invalid_type' && i.message.includes('undefined') ? 'required' : 'invalid',
    diagnostics: i.message,
    expression: formatPath(root, i.path),
  };
}

const STATUS_CODES: Readonly<Record<number, IssueCode>> = {
  400: 'invalid',
  401: 'login',
  403: 'forbidden',
  404: 'not-found',
  405: 'not-supported',
  409: 'conflict',
  412: 'conflict',
  413: 'too-costly',
  415: 'not-supported',
  428: 'required',
};

/**
 * Renders every error of a service's operator, admin and FHIR endpoints as an OperationOutcome.
 * Nest's own HttpExceptions (404 of a ParseUUIDPipe, 400 of a bad JSON body) become one issue with
 * their message; anything else is a 500 whose details stay in the log.
 */
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
