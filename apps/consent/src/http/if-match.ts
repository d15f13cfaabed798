import { HttpStatus } from '@nestjs/common';
import { OperationOutcomeException } from '@tessera/platform-service';

/** `W/"3"` (or `"3"`) → 3; 428 when missing, 400 when not a version ETag (FHIR R4 §3.1.0.5 version-aware updates). */
export function expectedVersionOf(ifMatch: string | undefined): number {
  if (ifMatch === undefined || ifMatch.trim() === '') {
    throw new OperationOutcomeException(HttpStatus.PRECONDITION_REQUIRED, [
      {
        code: 'required',
        expression: 'If-Match',
        diagnostics: 'Send If-Match: W/"<version>" with the version you read (meta.versionId or the ETag).',
      },
    ]);
  }
  const match = /^(?:W\/)?"(\d{1,9})"$/.exec(ifMatch.trim());
  const version = match?.[1] === undefined ? NaN : Number(match[1]);
  if (!Number.isSafeInteger(version) || version < 1) {
    throw new OperationOutcomeException(HttpStatus.BAD_REQUEST, [
      { code: 'invalid', expression: 'If-Match', diagnostics: 'If-Match must be a version ETag such as W/"3".' },
    ]);
  }
  return version;
}

export function etagOf(version: number): string {
  return `W/"${version}"`;
}

export function versionConflict(current: number): OperationOutcomeException {
  return new OperationOutcomeException(HttpStatus.PRECONDITION_FAILED, [
    {
      code: 'conflict',
      expression: 'If-Match',
      diagnostics: `The resource changed since you read it (now version ${current}): read it again and retry.`,
    },
  ]);
}
