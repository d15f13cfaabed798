import { OperationOutcomeException } from '@tessera/platform-service';
import type { Issue, IssueCode } from '@tessera/platform-service';

/** IssueType codes (FHIR R4 valueset-issue-type) the exchange reports. */
export type ExchangeIssueCode = IssueCode;

/** An OperationOutcome error with one issue. */
export function outcomeError(
  status: number,
  code: ExchangeIssueCode,
  diagnostics: string,
  expression?: string,
): OperationOutcomeException {
  const issue: Issue = { code, diagnostics, ...(expression === undefined ? {} : { expression }) };
  return new OperationOutcomeException(status, [issue]);
}
