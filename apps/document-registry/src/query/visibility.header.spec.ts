import type { Request } from 'express';
import { encodeVisibility } from '@tessera/consent-policy';
import type { VisibilityHeader } from '@tessera/consent-policy';
import { OperationOutcomeException } from '@tessera/platform-service';
import { isVisible, requireSamePerson, requireVisibility } from './visibility.header';

const decided: VisibilityHeader = {
  enterpriseId: 'E1',
  ownInstitution: 'hosp-a',
  others: 'all',
  deniedLabels: ['PSY'],
};

function requestWith(header?: string): Request {
  return { headers: header === undefined ? {} : { 'x-tessera-visibility': header } } as unknown as Request;
}

function failure(run: () => unknown): { status: number; code: string | undefined } {
  try {
    run();
  } catch (error) {
    if (error instanceof OperationOutcomeException)
      return { status: error.getStatus(), code: error.outcome.issue[0]?.code };
    throw error;
  }
  throw new Error('expected an OperationOutcomeException');
}

describe('requireVisibility', () => {
  it('decodes the header', () => {
    expect(requireVisibility(requestWith(encodeVisibility(decided)))).toEqual(decided);
  });

  it('refuses a missing header with 403 security and a malformed one with 400 value', () => {
    expect(failure(() => requireVisibility(requestWith()))).toEqual({ status: 403, code: 'security' });
    expect(failure(() => requireVisibility(requestWith('')))).toEqual({ status: 403, code: 'security' });
    expect(failure(() => requireVisibility(requestWith('%%%')))).toEqual({ status: 400, code: 'value' });
    const wrong = Buffer.from(JSON.stringify({ ...decided, others: 'some' })).toString('base64url');
    expect(failure(() => requireVisibility(requestWith(wrong)))).toEqual({ status: 400, code: 'value' });
  });
});

describe('requireSamePerson', () => {
  it('accepts the person the exchange decided for, and null for null', () => {
    expect(() => requireSamePerson(decided, 'E1')).not.toThrow();
    expect(() => requireSamePerson({ ...decided, enterpriseId: null }, null)).not.toThrow();
  });

  it('answers 409 conflict for another person, or when one side knows no person', () => {
    expect(failure(() => requireSamePerson(decided, 'E2'))).toEqual({ status: 409, code: 'conflict' });
    expect(failure(() => requireSamePerson(decided, null))).toEqual({ status: 409, code: 'conflict' });
    expect(failure(() => requireSamePerson({ ...decided, enterpriseId: null }, 'E1'))).toEqual({
      status: 409,
      code: 'conflict',
    });
  });
});

describe('isVisible', () => {
  it('shows own items whatever their labels', () => {
    expect(isVisible({ ...decided, others: 'none' }, { institutionId: 'hosp-a', labelCodes: ['PSY'] })).toBe(
      true,
    );
  });

  it("shows others' items only when others is all and no label is denied", () => {
    expect(isVisible(decided, { institutionId: 'hosp-b', labelCodes: [] })).toBe(true);
    expect(isVisible(decided, { institutionId: 'hosp-b', labelCodes: ['R', 'PSY'] })).toBe(false);
    expect(isVisible({ ...decided, others: 'none' }, { institutionId: 'hosp-b', labelCodes: [] })).toBe(
      false,
    );
  });
});
