import type { AuditRecordData } from '@tessera/platform-audit';
import { auditSearchBundle, auditTypeOfToken, presentAuditEvent } from './audit-event.presenter';

const record: AuditRecordData = {
  type: 'rest',
  subtype: 'search-type',
  action: 'E',
  outcome: '0',
  recordedAt: '2026-11-22T03:00:00.000Z',
  agent: { clientId: 'hosp-a-ehr', institutionId: 'hosp-a', roles: [], user: 'dr-1' },
  observer: 'exchange',
  purposeOfUse: 'ETREAT',
  breakGlass: true,
  patients: ['E1'],
  entities: [
    { type: 'DocumentReference', query: 'patient=E1&type=11488-4' },
    { type: 'Binary', reference: 'Binary/abc' },
  ],
  hiddenCount: 2,
};

describe('presentAuditEvent (BALP)', () => {
  const event = presentAuditEvent({ seq: '7', eventId: 'ev-1', hash: 'f'.repeat(64), record });

  it('codes type, subtype, action, outcome, purpose (with break-the-glass) and source', () => {
    expect(event.type).toEqual({
      system: 'http://terminology.hl7.org/CodeSystem/audit-event-type',
      code: 'rest',
      display: 'RESTful Operation',
    });
    expect(event.subtype).toEqual([
      { system: 'http://hl7.org/fhir/restful-interaction', code: 'search-type' },
    ]);
    expect(event).toMatchObject({ id: 'ev-1', action: 'E', outcome: '0', recorded: record.recordedAt });
    expect(event.purposeOfEvent?.map((p) => p.coding?.[0]?.code)).toEqual(['ETREAT', 'BTG']);
    expect(event.source.observer).toEqual({ display: 'exchange' });
  });

  it('names the client, its institution and the asserted user as agents; the user is the requestor', () => {
    expect(event.agent.map((a) => [a.who?.identifier?.value, a.requestor])).toEqual([
      ['hosp-a-ehr', false],
      ['hosp-a', false],
      ['dr-1', true],
    ]);
  });

  it('puts the patient first (role Patient), then each entity with its reference or base64 query', () => {
    expect(event.entity?.[0]).toMatchObject({ what: { reference: 'Patient/E1' }, role: { code: '1' } });
    expect(Buffer.from(event.entity?.[1]?.query ?? '', 'base64').toString('utf8')).toBe(
      'patient=E1&type=11488-4',
    );
    expect(event.entity?.[1]?.role?.code).toBe('24');
    expect(event.entity?.[2]).toMatchObject({ what: { reference: 'Binary/abc' }, type: { code: 'Binary' } });
  });

  it('carries its chain position and hash', () => {
    expect(event.extension?.[0]?.extension).toEqual([
      { url: 'seq', valueString: '7' },
      { url: 'hash', valueString: 'f'.repeat(64) },
    ]);
  });
});

describe('auditTypeOfToken', () => {
  it('accepts our codes, FHIR/DICOM codes and system|code', () => {
    expect(auditTypeOfToken('break-glass')).toBe('break-glass');
    expect(auditTypeOfToken('110114')).toBe('login');
    expect(auditTypeOfToken('http://terminology.hl7.org/CodeSystem/audit-event-type|rest')).toBe('rest');
    expect(auditTypeOfToken('http://other|rest')).toBeUndefined();
  });
});

describe('auditSearchBundle', () => {
  it('is a searchset with the exact total and next/previous links', () => {
    const rows = [{ seq: '1', eventId: 'a', hash: '0'.repeat(64), record }];
    const bundle = auditSearchBundle(
      rows,
      5,
      new URL('http://c/AuditEvent?patient=E1&_count=1&_offset=1'),
      1,
      1,
    );
    expect(bundle.total).toBe(5);
    expect(bundle.link?.map((l) => l.relation)).toEqual(['self', 'next', 'previous']);
    expect(bundle.link?.[1]?.url).toContain('_offset=2');
    expect(bundle.entry?.[0]?.fullUrl).toBe('http://c/AuditEvent/a');
  });
});
