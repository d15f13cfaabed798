import { HttpStatus } from '@nestjs/common';
import type { Request } from 'express';
import { parseVisibilityHeader, VISIBILITY_HEADER } from '@tessera/consent-policy';
import type { VisibilityHeader } from '@tessera/consent-policy';
import { OperationOutcomeException } from '@tessera/platform-service';

/**
 * The exchange's decision for this request (`X-Tessera-Visibility`, design "Registry"). Without it
 * the registry serves no data: missing → 403 `security` (the caller skipped the consent decision),
 * malformed → 400 `value`. The diagnostics never echo the header.
 */
export function requireVisibility(request: Request): VisibilityHeader {
  const header = request.headers[VISIBILITY_HEADER];
  if (header === undefined || header === '') {
    throw new OperationOutcomeException(HttpStatus.FORBIDDEN, [
      {
        code: 'security',
        diagnostics:
          'X-Tessera-Visibility is required: the registry answers only searches decided by the exchange',
      },
    ]);
  }
  const parsed = parseVisibilityHeader(header);
  if (parsed.value === undefined) {
    throw new OperationOutcomeException(HttpStatus.BAD_REQUEST, [
      { code: 'value', diagnostics: parsed.error, expression: 'X-Tessera-Visibility' },
    ]);
  }
  return parsed.value;
}

/**
 * The registry resolved the patient to another person than the exchange decided for (an MPI link
 * changed in between): 409 `conflict`, the exchange re-resolves and retries.
 */
export function requireSamePerson(visibility: VisibilityHeader, resolved: string | null): void {
  if (visibility.enterpriseId === resolved) return;
  throw new OperationOutcomeException(HttpStatus.CONFLICT, [
    {
      code: 'conflict',
      diagnostics:
        'the patient resolves to another enterprise id than X-Tessera-Visibility names: resolve the patient again and retry',
    },
  ]);
}

/** Whether one item passes the visibility (the same rule as the SQL pushdown). */
export function isVisible(
  visibility: VisibilityHeader,
  item: { readonly institutionId: string; readonly labelCodes: readonly string[] },
): boolean {
  if (item.institutionId === visibility.ownInstitution) return true;
  return visibility.others === 'all' && !item.labelCodes.some((c) => visibility.deniedLabels.includes(c));
}
