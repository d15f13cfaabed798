import { protectionAction } from './patient-protection.handler';

describe('protectionAction (PD1-12 on the feed-managed directive)', () => {
  it('Y creates or re-activates the opt-out, and keeps an active one', () => {
    expect(protectionAction('hl7v2', true, undefined)).toBe('activate');
    expect(protectionAction('hl7v2', true, 'inactive')).toBe('activate');
    expect(protectionAction('hl7v2', true, 'active')).toBe('none');
  });

  it('N, or no indicator after a Y, deactivates it; nothing to do when there is none', () => {
    expect(protectionAction('hl7v2', false, 'active')).toBe('deactivate');
    expect(protectionAction('hl7v2', undefined, 'active')).toBe('deactivate');
    expect(protectionAction('hl7v2', false, undefined)).toBe('none');
    expect(protectionAction('hl7v2', undefined, 'inactive')).toBe('none');
  });

  it('a FHIR feed carries no PD1: the feed-managed directive is left alone', () => {
    expect(protectionAction('fhir', undefined, 'active')).toBe('none');
    expect(protectionAction('fhir', true, undefined)).toBe('none');
  });
});
