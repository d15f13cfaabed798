import { PURPOSES_OF_USE } from '@tessera/consent-policy';
import type { PurposeOfUse } from '@tessera/consent-policy';
import type { Issue } from '@tessera/platform-service';

/** Request headers of the exchange (design "Request context at the exchange"). */
export const PURPOSE_OF_USE_HEADER = 'x-tessera-purpose-of-use';
export const BREAK_GLASS_REASON_HEADER = 'x-tessera-break-glass-reason';
export const ON_BEHALF_OF_HEADER = 'x-tessera-on-behalf-of';

/** What a clinical request says about itself, validated. */
export interface RequestContext {
  readonly purposeOfUse: PurposeOfUse;
  /** Present only with purpose ETREAT (break-the-glass). */
  readonly breakGlassReason?: string;
  /** The institution's end-user id, recorded in audit (opaque, never interpreted). */
  readonly onBehalfOf?: string;
}

export type ContextResult =
  | { readonly ok: true; readonly context: RequestContext }
  | { readonly ok: false; readonly status: 400 | 403; readonly issue: Issue };

type Headers = Readonly<Record<string, string | readonly string[] | undefined>>;

// Printable text without control characters (CR/LF would allow header or log injection).
const PRINTABLE = /^[^\p{Cc}]*$/u;

function one(headers: Headers, name: string): string | undefined | null {
  const value = headers[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') return null; // repeated header
  return value.trim();
}

/**
 * Reads the purpose of use, break-the-glass reason and on-behalf-of headers. `allowedPurposes` are
 * the client's registered purposes (null: the registration restricts none). Missing purpose → 400
 * `required`; unknown code → 400 `code-invalid`; a purpose the client may not use → 403 `forbidden`.
 * A break-the-glass reason is 5–500 printable characters and only meaningful with ETREAT. Pure.
 */
export function parseRequestContext(
  headers: Headers,
  allowedPurposes: readonly string[] | null,
): ContextResult {
  const purpose = one(headers, PURPOSE_OF_USE_HEADER);
  if (purpose === undefined || purpose === '') {
    return fail(
      400,
      'required',
      `send the purpose of use in X-Tessera-Purpose-Of-Use (${PURPOSES_OF_USE.join(', ')})`,
    );
  }
  if (purpose === null) return fail(400, 'invalid', 'X-Tessera-Purpose-Of-Use must be sent once');
  if (!(PURPOSES_OF_USE as readonly string[]).includes(purpose)) {
    return fail(400, 'code-invalid', `X-Tessera-Purpose-Of-Use must be one of ${PURPOSES_OF_USE.join(', ')}`);
  }
  if (allowedPurposes !== null && !allowedPurposes.includes(purpose)) {
    return fail(403, 'forbidden', `this client is not registered for purpose of use ${purpose}`);
  }
  const reason = one(headers, BREAK_GLASS_REASON_HEADER);
  if (reason === null) return fail(400, 'invalid', 'X-Tessera-Break-Glass-Reason must be sent once');
  if (reason !== undefined) {
    if (purpose !== 'ETREAT') {
      return fail(
        400,
        'business-rule',
        'X-Tessera-Break-Glass-Reason is only accepted with purpose of use ETREAT',
      );
    }
    if (reason.length < 5 || reason.length > 500 || !PRINTABLE.test(reason)) {
      return fail(400, 'invalid', 'X-Tessera-Break-Glass-Reason must be 5 to 500 printable characters');
    }
  }
  const user = one(headers, ON_BEHALF_OF_HEADER);
  if (user === null) return fail(400, 'invalid', 'X-Tessera-On-Behalf-Of must be sent once');
  if (user !== undefined && (user === '' || user.length > 200 || !PRINTABLE.test(user))) {
    return fail(400, 'invalid', 'X-Tessera-On-Behalf-Of must be 1 to 200 printable characters');
  }
  return {
    ok: true,
    context: {
      purposeOfUse: purpose as PurposeOfUse,
      ...(reason === undefined ? {} : { breakGlassReason: reason }),
      ...(user === undefined ? {} : { onBehalfOf: user }),
    },
  };
}

function fail(status: 400 | 403, code: Issue['code'], diagnostics: string): ContextResult {
  const expression = diagnostics.includes('Break-Glass')
    ? 'X-Tessera-Break-Glass-Reason'
    : diagnostics.includes('On-Behalf-Of')
      ? 'X-Tessera-On-Behalf-Of'
      : 'X-Tessera-Purpose-Of-Use';
  return { ok: false, status, issue: { code, diagnostics, expression } };
}
