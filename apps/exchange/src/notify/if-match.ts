import { HttpStatus } from '@nestjs/common';
import { outcomeError } from '../http/outcome';

/** If-Match `W/"<version>"` against the stored version: 400 when malformed, 412 when stale, fine when absent. */
export function checkVersion(version: number, ifMatch: string | undefined): void {
  if (ifMatch === undefined) return;
  const wanted = /^W\/"(\d+)"$/.exec(ifMatch.trim())?.[1];
  if (wanted === undefined) throw outcomeError(400, 'value', 'If-Match must be W/"<version>"', 'If-Match');
  if (Number(wanted) !== version)
    throw outcomeError(
      HttpStatus.PRECONDITION_FAILED,
      'conflict',
      `the resource is at version ${version}`,
      'If-Match',
    );
}
