import { HttpStatus } from '@nestjs/common';
import type { Principal } from '@tessera/platform-auth';
import { OperationOutcomeException } from '@tessera/platform-service';

/** Header by which the exchange names the institution it calls for (service token only). */
export const REQUESTING_INSTITUTION_HEADER = 'x-tessera-requesting-institution';

/**
 * Who records or reads consent: a regional operator (any patient), or an institution (only
 * patients it holds a source record of) — either through the exchange's service token with
 * X-Tessera-Requesting-Institution, or an operator client bound to an institution.
 */
export type ConsentCaller =
  | { readonly kind: 'regional'; readonly clientId: string }
  | { readonly kind: 'institution'; readonly institutionId: string; readonly clientId: string };

const INSTITUTION_ID = /^[A-Za-z0-9\-.]{1,64}$/;

export function callerOf(principal: Principal | undefined, requestingInstitution: string | undefined): ConsentCaller {
  if (principal === undefined) {
    throw new OperationOutcomeException(HttpStatus.UNAUTHORIZED, [
      { code: 'login', diagnostics: 'Send an access token (Authorization: Bearer ...).' },
    ]);
  }
  switch (principal.kind) {
    case 'service': {
      const institutionId = requestingInstitution?.trim() ?? '';
      if (!INSTITUTION_ID.test(institutionId)) {
        throw new OperationOutcomeException(HttpStatus.BAD_REQUEST, [
          {
            code: 'required',
            expression: 'X-Tessera-Requesting-Institution',
            diagnostics:
              'A service call names the institution it is made for in X-Tessera-Requesting-Institution (its institution id, 1-64 of A-Z a-z 0-9 - .).',
          },
        ]);
      }
      return { kind: 'institution', institutionId, clientId: principal.clientId };
    }
    case 'operator':
      return principal.institutionId === null
        ? { kind: 'regional', clientId: principal.clientId }
        : { kind: 'institution', institutionId: principal.institutionId, clientId: principal.clientId };
    case 'institution':
      throw new OperationOutcomeException(HttpStatus.FORBIDDEN, [
        { code: 'forbidden', diagnostics: 'Institutions record and read consent through the exchange API.' },
      ]);
  }
}
