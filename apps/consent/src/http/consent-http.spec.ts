import type { Principal } from '@tessera/platform-auth';
import { OperationOutcomeException } from '@tessera/platform-service';
import { parsePatientParam, parseStatusParam } from '../directives/consent.controller';
import { callerOf, isPrivacyOfficer, reasonOf } from './consent-caller';
import { etagOf, expectedVersionOf } from './if-match';

function principal(kind: Principal['kind'], institutionId: string | null = null): Principal {
  return { kind, clientId: `c-${kind}`, institutionId, scopes: [], roles: [], tokenId: 't', expiresAt: 0 };
}

function statusOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof OperationOutcomeException) return error.getStatus();
    throw error;
  }
  return undefined;
}

describe('callerOf', () => {
  it('a regional operator may touch any patient; an operator bound to an institution acts as it', () => {
    expect(callerOf(principal('operator'), undefined)).toEqual({
      kind: 'regional',
      clientId: 'c-operator',
      roles: [],
    });
    expect(callerOf(principal('operator', 'H1'), 'H2')).toEqual({
      kind: 'institution',
      institutionId: 'H1',
      clientId: 'c-operator',
      roles: [],
    });
  });

  it('the exchange service token must name the requesting institution', () => {
    expect(callerOf(principal('service'), 'H1')).toEqual({
      kind: 'institution',
      institutionId: 'H1',
      clientId: 'c-service',
      roles: [],
    });
    expect(statusOf(() => callerOf(principal('service'), undefined))).toBe(400);
    expect(statusOf(() => callerOf(principal('service'), 'bad id!'))).toBe(400);
  });

  it('refuses institution tokens and missing principals', () => {
    expect(statusOf(() => callerOf(principal('institution', 'H1'), 'H1'))).toBe(403);
    expect(statusOf(() => callerOf(undefined, undefined))).toBe(401);
  });
});

describe('privacy officer and X-Tessera-Reason', () => {
  it('only a regional operator with privacy.officer overrides; an institution-bound one acts as its institution', () => {
    const officer = { ...principal('operator'), roles: ['privacy.officer'] };
    expect(isPrivacyOfficer(callerOf(officer, undefined))).toBe(true);
    expect(isPrivacyOfficer(callerOf({ ...officer, institutionId: 'H1' }, undefined))).toBe(false);
    expect(
      isPrivacyOfficer(callerOf({ ...principal('operator'), roles: ['consent.write'] }, undefined)),
    ).toBe(false);
  });

  it('needs 5-500 characters without control characters', () => {
    expect(reasonOf('  patient asked the privacy office in writing  ')).toBe(
      'patient asked the privacy office in writing',
    );
    expect(statusOf(() => reasonOf(undefined))).toBe(400);
    expect(statusOf(() => reasonOf('   '))).toBe(400);
    expect(statusOf(() => reasonOf('abc'))).toBe(400);
    expect(statusOf(() => reasonOf('x'.repeat(501)))).toBe(400);
    expect(statusOf(() => reasonOf('line one\nline two'))).toBe(400);
    expect(statusOf(() => reasonOf('bell\u0007 inside'))).toBe(400);
  });
});

describe('If-Match', () => {
  it('reads weak and strong version ETags', () => {
    expect(expectedVersionOf('W/"3"')).toBe(3);
    expect(expectedVersionOf(' "12" ')).toBe(12);
    expect(etagOf(4)).toBe('W/"4"');
  });

  it('428 when missing, 400 when not a version', () => {
    expect(statusOf(() => expectedVersionOf(undefined))).toBe(428);
    expect(statusOf(() => expectedVersionOf('W/"x"'))).toBe(400);
    expect(statusOf(() => expectedVersionOf('W/"0"'))).toBe(400);
  });
});

describe('Consent search parameters', () => {
  it('patient is an enterprise id (optionally Patient/<id>) or system|value', () => {
    expect(parsePatientParam('E-1')).toEqual({ kind: 'enterprise', enterpriseId: 'E-1' });
    expect(parsePatientParam('Patient/E-1')).toEqual({ kind: 'enterprise', enterpriseId: 'E-1' });
    expect(parsePatientParam('urn:oid:1.2.3|MRN|7')).toEqual({
      kind: 'source',
      system: 'urn:oid:1.2.3',
      value: 'MRN|7',
    });
    expect(statusOf(() => parsePatientParam(undefined))).toBe(400);
    expect(statusOf(() => parsePatientParam('|x'))).toBe(400);
  });

  it('status is a Consent status code', () => {
    expect(parseStatusParam('active')).toBe('active');
    expect(parseStatusParam(undefined)).toBeUndefined();
    expect(statusOf(() => parseStatusParam('revoked'))).toBe(400);
  });
});
