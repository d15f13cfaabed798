import { rejectionAuditRecord } from './rejection-audit';

describe('rejectionAuditRecord', () => {
  it('records a refused call as a security alert naming the endpoint and the reason, never the query', () => {
    expect(
      rejectionAuditRecord({ reason: 'expired', status: 401, clientId: 'riverside-ehr', path: '/ledger/messages', method: 'GET' }),
    ).toEqual({
      type: 'security-alert',
      subtype: 'read',
      action: 'E',
      outcome: '8',
      outcomeDesc: '401 expired',
      agent: { clientId: 'riverside-ehr', institutionId: null, roles: [] },
      entities: [{ type: 'endpoint', reference: '/ledger/messages' }],
    });
  });

  it('marks a 403 as a minor failure and an unreadable token as an unknown client', () => {
    const record = rejectionAuditRecord({ reason: 'insufficient_role', status: 403, path: '/mpi/merges', method: 'POST' });
    expect(record).toMatchObject({ outcome: '4', subtype: 'create', agent: { clientId: null } });
  });
});
