import { RULE_SET_V1, RULE_SET_V2 } from '@tessera/matching';
import { loadConfig } from '@tessera/platform-config';
import { mpiConfig } from '../mpi.config';
import { matchingProfileOf } from './rule-sets';

describe('matchingProfileOf (MPI_* settings → region and rule set)', () => {
  it('defaults: US region, strict national ids (a 9xx SSN is invalid), rule set v2', () => {
    const profile = matchingProfileOf(loadConfig(mpiConfig, {}));
    expect(profile.ruleSet).toBe(RULE_SET_V2);
    expect(profile.region.nationalIdScheme).toBe('us-ssn');
    expect(profile.region.allowSyntheticSsn).toBe(false);
    expect(profile.nationalIdProfile).toBe('strict');
    expect([...profile.ruleSets.keys()]).toEqual(['v1', 'v2']);
  });

  it('synthetic profile accepts the 9xx test range; region cn uses the resident id scheme', () => {
    expect(matchingProfileOf(loadConfig(mpiConfig, { MPI_NATIONAL_ID_PROFILE: 'synthetic' })).region.allowSyntheticSsn).toBe(true);
    const cn = matchingProfileOf(loadConfig(mpiConfig, { MPI_REGION: 'cn' }));
    expect(cn.region.nationalIdScheme).toBe('cn-resident-id');
    expect(cn.region.dateOrder).toBe('DMY');
  });

  it('rejects unknown regions and profiles at load time, naming the variable', () => {
    expect(() => loadConfig(mpiConfig, { MPI_REGION: 'mars' })).toThrow(/MPI_REGION/);
    expect(() => loadConfig(mpiConfig, { MPI_NATIONAL_ID_PROFILE: 'lenient' })).toThrow(/MPI_NATIONAL_ID_PROFILE/);
  });

  it('adds a rule set from MPI_RULE_SET_FILE and may decide with it', () => {
    const file = JSON.stringify({ ...RULE_SET_V1, version: 'v1-local', thresholds: { autoLink: 14, review: 6 } });
    const settings = loadConfig(mpiConfig, { MPI_RULE_SET_FILE: '/etc/rules.json', MPI_RULE_SET_VERSION: 'v1-local' });
    const profile = matchingProfileOf(settings, (path) => {
      expect(path).toBe('/etc/rules.json');
      return file;
    });
    expect(profile.ruleSet.version).toBe('v1-local');
    expect(profile.ruleSet.thresholds).toEqual({ autoLink: 14, review: 6 });
    expect([...profile.ruleSets.keys()]).toEqual(['v1', 'v2', 'v1-local']);
  });

  it('fails at boot on an unknown version, an unreadable or invalid file, or a file reusing a built-in version', () => {
    expect(() => matchingProfileOf(loadConfig(mpiConfig, { MPI_RULE_SET_VERSION: 'v9' }))).toThrow(/MPI_RULE_SET_VERSION: unknown rule set; known: v1, v2/);
    const withFile = (text: string): (() => unknown) => () =>
      matchingProfileOf(loadConfig(mpiConfig, { MPI_RULE_SET_FILE: 'x.json' }), () => text);
    expect(withFile('{not json')).toThrow(/MPI_RULE_SET_FILE: cannot read a JSON rule set/);
    expect(withFile(JSON.stringify({ ...RULE_SET_V1, version: 'v2', thresholds: { autoLink: 1, review: 5 } }))).toThrow(
      /MPI_RULE_SET_FILE: Invalid matching rule set at \$\.thresholds/,
    );
    expect(withFile(JSON.stringify(RULE_SET_V1))).toThrow(/built-in rule set/);
    expect(() =>
      matchingProfileOf(loadConfig(mpiConfig, { MPI_RULE_SET_FILE: 'missing.json' }), () => {
        throw Object.assign(new Error('ENOENT'), { name: 'Error' });
      }),
    ).toThrow(/MPI_RULE_SET_FILE/);
  });
});
