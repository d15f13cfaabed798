import { CLOSED_BY_RULE_TAG, DEFAULT_VISIT_CLOSING_RULES, closingRuleFor } from './visit-closing.policy';

describe('visit closing rules', () => {
  it('closes an emergency visit after 48 hours as an emergency departure', () => {
    expect(closingRuleFor('EMER')).toEqual({
      classCodes: ['EMER'],
      maxOpenHours: 48,
      closingTopic: 'emergency-departure',
    });
  });

  it('closes acute inpatient stays after 90 days and non-acute stays after a year, as discharges', () => {
    expect(closingRuleFor('IMP')).toMatchObject({ maxOpenHours: 2160, closingTopic: 'discharge' });
    expect(closingRuleFor('ACUTE')).toMatchObject({ maxOpenHours: 2160, closingTopic: 'discharge' });
    expect(closingRuleFor('NONAC')).toMatchObject({ maxOpenHours: 8760, closingTopic: 'discharge' });
  });

  it('has no rule for classes whose start is never notified', () => {
    for (const code of ['AMB', 'OBSENC', 'PRENC', 'SS', 'HH', 'VR', ''])
      expect(closingRuleFor(code)).toBeUndefined();
  });

  it('uses the rules it is given instead of the defaults', () => {
    const rules = [{ classCodes: ['AMB'], maxOpenHours: 24, closingTopic: 'discharge' as const }];
    expect(closingRuleFor('AMB', rules)).toBe(rules[0]);
    expect(closingRuleFor('EMER', rules)).toBeUndefined();
    expect(DEFAULT_VISIT_CLOSING_RULES).toHaveLength(3);
  });

  it('tags closing notifications with a Tessera code subscribers can test for', () => {
    expect(CLOSED_BY_RULE_TAG).toMatchObject({
      system: 'https://tessera.example/fhir/CodeSystem/notification-tag',
      code: 'closed-by-rule',
    });
  });
});
