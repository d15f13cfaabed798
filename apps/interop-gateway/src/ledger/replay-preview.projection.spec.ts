import { MAPPER_VERSION } from '@tessera/v2-fhir';
import type { MappedIdentity } from '../mapping/mapped-identity.policy';
import { correctionOf } from '../mapping/mapped-identity.policy';
import type { MappingDecision } from '../mapping/mapping-outcome.policy';
import { ReplayPreviewBuilder } from './replay-preview.projection';

const mapped: MappingDecision = {
  status: 'mapped',
  mapperVersion: MAPPER_VERSION,
  events: [],
  warnings: [],
  detail: null,
};
const failed: MappingDecision = {
  status: 'failed',
  mapperVersion: MAPPER_VERSION,
  detail: '103 at PID-3.4: not registered',
};

function identity(institutionId: string, system: string, localId: string, ids: string[]): MappedIdentity {
  return {
    institutionId,
    patient: { system, localId },
    items: ids.map((id) => ({ resourceType: 'Encounter', id })),
    warnings: [],
    mapperVersion: MAPPER_VERSION,
  };
}

describe('ReplayPreviewBuilder', () => {
  it('counts corrected records, distinct items and failures, never local ids', () => {
    const builder = new ReplayPreviewBuilder();
    const provisional = (localId: string, ids: string[]) =>
      identity('donghai', 'urn:tessera:aa:donghai:NVMC', localId, ids);
    const right = (localId: string, ids: string[]) => identity('north-valley', 'urn:oid:1.2.3', localId, ids);
    const add = (
      id: string,
      previous: MappedIdentity | null,
      next: MappedIdentity | null,
      decision: MappingDecision = mapped,
    ) => builder.add(id, decision, next, correctionOf(previous, next));
    add('l1', provisional('M1', ['e-old']), right('M1', ['e-new']));
    add('l2', provisional('M1', ['e-old', 'd-old']), right('M1', ['e-new', 'd-new']));
    add('l3', provisional('M2', []), right('M2', []));
    add('l4', right('M3', ['x']), right('M3', ['x']));
    add('l5', null, right('M4', ['y']));
    add('l6', provisional('M5', ['z']), null, failed);
    const preview = builder.build();
    expect(preview).toMatchObject({
      messages: 6,
      wouldMap: 5,
      wouldFail: 1,
      unchanged: 2,
      identities: {
        corrected: 2,
        moves: [
          {
            from: { institutionId: 'donghai', system: 'urn:tessera:aa:donghai:NVMC', provisional: true },
            to: { institutionId: 'north-valley', system: 'urn:oid:1.2.3' },
            records: 2,
            messages: 3,
          },
        ],
      },
      items: { withdrawn: 2, indexed: 4 },
      consents: { sourceRecordsFollowed: 2 },
      failures: [{ ledgerId: 'l6', detail: '103 at PID-3.4: not registered' }],
    });
    expect(JSON.stringify(preview)).not.toMatch(/"M\d"/);
  });
});
