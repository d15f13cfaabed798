import { protectionAction } from './patient-protection.handler';

describe('protectionAction (PD1-12 on the feed-managed directive)', () => {
  it('Y creates or re-activates the opt-out, and keeps an active one', () => {
    expect(protectionAction('hl7v2', true, undefined)).toBe('activate');
    expect(protectionAction('hl7v2', true, 'inactive')).toBe('activate');
    expect(protectionAction('hl7v2', true, 'active')).toBe('none');
  });

  it('N or the explicit null "" (false) withdraws an active opt-out; nothing to do when there is none', () => {
    expect(protectionAction('hl7v2', false, 'active')).toBe('deactivate');
    expect(protectionAction('hl7v2', false, undefined)).toBe('none');
    expect(protectionAction('hl7v2', false, 'inactive')).toBe('none');
  });

  it('no PD1 or an empty PD1-12 (no indicator) means no information: nothing changes', () => {
    expect(protectionAction('hl7v2', undefined, 'active')).toBe('none');
    expect(protectionAction('hl7v2', undefined, 'inactive')).toBe('none');
    expect(protectionAction('hl7v2', undefined, undefined)).toBe('none');
  });

  it('a less trusted message may add an opt-out but never lift one', () => {
    expect(protectionAction('hl7v2', false, 'active', false)).toBe('none');
    expect(protectionAction('hl7v2', true, 'inactive', false)).toBe('activate');
  });

  it('a FHIR feed carries no PD1: the feed-managed directive is left alone', () => {
    expect(protectionAction('fhir', undefined, 'active')).toBe('none');
    expect(protectionAction('fhir', false, 'active')).toBe('none');
    expect(protectionAction('fhir', true, undefined)).toBe('none');
  });
});
