import { HttpStatus } from '@nestjs/common';
import { OperationOutcomeException } from '@tessera/platform-service';
import { etagOf, parseInstitution, versionFromIfMatch } from './institutions.controller';

function statusOf(run: () => unknown): number | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    return error instanceof OperationOutcomeException ? error.getStatus() : -1;
  }
}

describe('institutions admin helpers', () => {
  it('reads the version of a weak or strong ETag in If-Match, and refuses anything else', () => {
    expect(versionFromIfMatch('W/"3"')).toBe(3);
    expect(versionFromIfMatch(' "12" ')).toBe(12);
    expect(versionFromIfMatch(undefined)).toBeUndefined();
    expect(versionFromIfMatch('')).toBeUndefined();
    expect(statusOf(() => versionFromIfMatch('*'))).toBe(HttpStatus.BAD_REQUEST);
    expect(statusOf(() => versionFromIfMatch('W/"1", W/"2"'))).toBe(HttpStatus.BAD_REQUEST);
    expect(etagOf(7)).toBe('W/"7"');
  });

  it('validates a body with institutionSchema and names each bad path', () => {
    try {
      parseInstitution({
        id: 'ok-id',
        name: '',
        sendingFacilities: [],
        assigningAuthorities: [{ namespace: 'A', system: 'not a uri' }],
        feed: {},
      });
      throw new Error('expected a 400');
    } catch (error) {
      if (!(error instanceof OperationOutcomeException)) throw error;
      expect(error.getStatus()).toBe(400);
      expect(error.outcome.issue?.map((i) => i.expression?.[0])).toEqual([
        'name',
        'sendingFacilities',
        'assigningAuthorities[0].system',
      ]);
    }
  });
});
