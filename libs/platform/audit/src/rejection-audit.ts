import type { AuthRejection } from '@tessera/platform-auth';
import type { AuditRecordInput } from './audit-writer';

/**
 * The security-alert record of a call the auth guard refused (401 missing/invalid/expired/forged
 * token or wrong audience, 403 scope/role): who (when the token could be read), which endpoint, why.
 * No token, no query string, no body.
 */
export function rejectionAuditRecord(rejection: AuthRejection): AuditRecordInput {
  return {
    type: 'security-alert',
    subtype: rejection.method === 'GET' ? 'read' : rejection.method === 'POST' ? 'create' : 'update',
    action: 'E',
    outcome: rejection.status === 401 ? '8' : '4',
    outcomeDesc: `${rejection.status} ${rejection.reason}`.slice(0, 500),
    agent: { clientId: rejection.clientId ?? null, institutionId: null, roles: [] },
    entities: [{ type: 'endpoint', reference: rejection.path.slice(0, 200) }],
  };
}
