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
  | { readonly kind: 'regional'; readonly clientId: string; readonly roles: readonly string[] }
  | {
      readonly kind: 'institution';
      readonly institutionId: string;
      readonly clientId: string;
      readonly roles: readonly string[];
    };

/** A regional operator who may override an institution's directive (with a reason, audited). */
export function isPrivacyOfficer(caller: ConsentCaller): boolean {
  return caller.kind === 'regional' && caller.roles.includes('privacy.officer');
}

/** A regional operator who records and revises directives on a patient's behalf. */
export function isConsentOperator(caller: ConsentCaller): boolean {
  return caller.kind === 'regional' && caller.roles.includes('consent.write');
}

const INSTITUTION_ID = /^[A-Za-z0-9\-.]{1,64}$/;

export function callerOf(
  principal: Principal | undefined,
  requestingInstitution: string | undefined,
): ConsentCaller {
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
      return { kind: 'institution', institutionId, clientId: principal.clientId, roles: principal.roles };
    }
    case 'operator':
      return principal.institutionId === null
        ? { kind: 'regional', clientId: principal.clientId, roles: principal.roles }
        : {
            kind: 'institution',
            institutionId: principal.institutionId,
            clientId: principal.clientId,
            roles: principal.roles,
          };
    case 'institution':
      throw new OperationOutcomeException(HttpStatus.FORBIDDEN, [
        { code: 'forbidden', diagnostics: 'Institutions record and read consent through the exchange API.' },
      ]);
  }
}

/** Header carrying a privacy officer's reason for overriding an institution's directive. */
export const REASON_HEADER = 'x-tessera-reason';
export const REASON_MIN = 5;
export const REASON_MAX = 500;

/**
 * The privacy officer's reason (X-Tessera-Reason): required, 5-500 characters after trimming, no
 * control characters (it goes into the audit record verbatim).
 */
export function reasonOf(header: string | undefined): string {
  const reason = header?.trim() ?? '';
  // eslint-disable-next-line no-control-regex
  const control = /[\u0000-\u001f\u007f-\u009f]/.test(reason);
  if (reason.length < REASON_MIN || reason.length > REASON_MAX || control) {
    throw new OperationOutcomeException(HttpStatus.BAD_REQUEST, [
      {
        code: 'required',
        expression: 'X-Tessera-Reason',
        diagnostics: `A privacy officer changing a directive recorded by an institution states why in X-Tessera-Reason (${REASON_MIN}-${REASON_MAX} characters, no control characters); it is kept in the audit trail.`,
      },
    ]);
  }
  return reason;
}
