import { OperationOutcomeException } from '@tessera/platform-service';
import type { Issue, IssueCode } from '@tessera/platform-service';

/** IssueType codes (FHIR R4 valueset-issue-type) the exchange uses beyond the platform's list. */
export type ExchangeIssueCode = IssueCode | 'throttled' | 'transient' | 'suppressed';

/** An OperationOutcome error with one issue. */
export function outcomeError(
  status: number,
  code: ExchangeIssueCode,
  diagnostics: string,
  expression?: string,
): OperationOutcomeException {
  const issue = { code, diagnostics, ...(expression === undefined ? {} : { expression }) } as Issue;
  return new OperationOutcomeException(status, [issue]);
}
