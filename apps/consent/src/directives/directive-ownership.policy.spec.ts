import type { ConsentDirective } from '@tessera/consent-policy';
import type { ConsentCaller } from '../http/consent-caller';
import { changeRight, mayRead, restrictsSharing } from './directive-ownership.policy';

const riverside: ConsentCaller = {
  kind: 'institution',
  institutionId: 'RIVERSIDE',
  clientId: 'exchange',
  roles: [],
};
const operator: ConsentCaller = {
  kind: 'regional',
  clientId: 'op',
  roles: ['consent.write', 'consent.read'],
};
const officer: ConsentCaller = { kind: 'regional', clientId: 'po', roles: ['privacy.officer'] };

function directive(over: Partial<ConsentDirective> = {}): ConsentDirective {
  return {
    id: 'd1',
    version: 1,
    status: 'active',
    anchor: { kind: 'enterprise', enterpriseId: 'E1' },
    base: 'deny',
    provisions: [],
    recordedBy: 'AURELIA',
    recordedAt: '2026-01-01T00:00:00Z',
    source: 'fhir',
    ...over,
  };
}

describe('changeRight', () => {
  it('an institution changes only what it recorded', () => {
    expect(changeRight(riverside, 'RIVERSIDE')).toEqual({ kind: 'owner' });
    expect(changeRight(riverside, 'AURELIA').kind).toBe('forbidden');
    expect(changeRight(riverside, null).kind).toBe('forbidden');
  });

  it('a consent operator changes what regional operators recorded, never an institution’s', () => {
    expect(changeRight(operator, null)).toEqual({ kind: 'operator' });
    const refused = changeRight(operator, 'AURELIA');
    expect(refused).toMatchObject({ kind: 'forbidden' });
    expect(refused.kind === 'forbidden' && refused.diagnostics).toContain('privacy officer');
    expect(refused.kind === 'forbidden' && refused.diagnostics).not.toContain('AURELIA');
  });

  it('a privacy officer may change any directive (the reason is checked by the caller)', () => {
    expect(changeRight(officer, 'AURELIA')).toEqual({ kind: 'privacy-officer' });
    expect(changeRight({ ...officer, roles: ['privacy.officer', 'consent.write'] }, null)).toEqual({
      kind: 'operator',
    });
    expect(
      changeRight(
        { kind: 'institution', institutionId: 'AURELIA', clientId: 'x', roles: ['privacy.officer'] },
        'RIVERSIDE',
      ).kind,
    ).toBe('forbidden');
  });
});

describe('mayRead / restrictsSharing', () => {
  it('an institution reads its own directives; regional operators all', () => {
    expect(mayRead(riverside, 'RIVERSIDE')).toBe(true);
    expect(mayRead(riverside, 'AURELIA')).toBe(false);
    expect(mayRead(operator, 'AURELIA')).toBe(true);
  });

  it('counts active opt-outs and deny provisions, not inactive or pure permits', () => {
    const now = new Date('2026-06-01T00:00:00Z');
    expect(restrictsSharing(directive(), now)).toBe(true);
    expect(restrictsSharing(directive({ status: 'inactive' }), now)).toBe(false);
    expect(restrictsSharing(directive({ base: 'permit' }), now)).toBe(false);
    expect(
      restrictsSharing(
        directive({
          base: 'permit',
          provisions: [{ type: 'deny', actors: ['X'], purposes: [], securityLabels: [] }],
        }),
        now,
      ),
    ).toBe(true);
    expect(restrictsSharing(directive({ period: { end: '2026-02-01T00:00:00Z' } }), now)).toBe(false);
  });
});
