import { protectionAction } from './patient-protection.handler';
import type { ProtectionInput } from './patient-protection.handler';

function decide(input: Partial<ProtectionInput>): ReturnType<typeof protectionAction> {
  return protectionAction({ channel: 'hl7v2', indicator: undefined, current: undefined, ...input });
}

describe('protectionAction (PD1-12 on the feed-managed directive)', () => {
  it('Y creates or re-activates the opt-out, and keeps an active one', () => {
    expect(decide({ indicator: true })).toBe('activate');
    expect(decide({ indicator: true, current: 'inactive' })).toBe('activate');
    expect(decide({ indicator: true, current: 'active' })).toBe('none');
  });

  it('N or the explicit null "" (false) withdraws an active opt-out; nothing to do when there is none', () => {
    expect(decide({ indicator: false, current: 'active' })).toBe('deactivate');
    expect(decide({ indicator: false })).toBe('none');
    expect(decide({ indicator: false, current: 'inactive' })).toBe('none');
  });

  it('no PD1 or an empty PD1-12 (no indicator) means no information: nothing changes', () => {
    expect(decide({ current: 'active' })).toBe('none');
    expect(decide({ current: 'inactive' })).toBe('none');
    expect(decide({})).toBe('none');
  });

  it('a message less trusted than the record (unauthenticated sender) changes nothing, Y or N', () => {
    expect(decide({ indicator: false, current: 'active', trusted: false })).toBe('none');
    expect(decide({ indicator: true, current: 'inactive', trusted: false })).toBe('none');
    expect(decide({ indicator: true, trusted: false })).toBe('none');
  });

  it('a FHIR feed carries no PD1: the feed-managed directive is left alone', () => {
    expect(decide({ channel: 'fhir', current: 'active' })).toBe('none');
    expect(decide({ channel: 'fhir', indicator: false, current: 'active' })).toBe('none');
    expect(decide({ channel: 'fhir', indicator: true })).toBe('none');
  });

  describe('message time against the newest message the directive reflects', () => {
    const last = '2026-12-07T10:00:00.000Z';
    const older = '2026-12-07T09:00:00Z';
    const newer = '2026-12-07T11:00:00+01:00'; // 10:00Z: equal
    const later = '2026-12-07T10:00:01Z';

    it('an older message (a replay) changes nothing, N or Y', () => {
      expect(decide({ indicator: false, current: 'active', messageTime: older, lastMessageTime: last })).toBe(
        'none',
      );
      expect(
        decide({ indicator: true, current: 'inactive', messageTime: older, lastMessageTime: last }),
      ).toBe('none');
    });

    it('a strictly newer message applies', () => {
      expect(decide({ indicator: false, current: 'active', messageTime: later, lastMessageTime: last })).toBe(
        'deactivate',
      );
      expect(
        decide({ indicator: true, current: 'inactive', messageTime: later, lastMessageTime: last }),
      ).toBe('activate');
    });

    it('an equal or unknown time may add an opt-out but never lifts one', () => {
      expect(decide({ indicator: false, current: 'active', messageTime: newer, lastMessageTime: last })).toBe(
        'none',
      );
      expect(
        decide({ indicator: true, current: 'inactive', messageTime: newer, lastMessageTime: last }),
      ).toBe('activate');
      expect(decide({ indicator: false, current: 'active', lastMessageTime: last })).toBe('none');
      expect(decide({ indicator: true, current: 'inactive', lastMessageTime: last })).toBe('activate');
    });

    it('a directive without a recorded time (older rows): a timed or untimed message applies as before', () => {
      expect(decide({ indicator: false, current: 'active', messageTime: older })).toBe('deactivate');
      expect(decide({ indicator: false, current: 'active' })).toBe('deactivate');
    });
  });
});
