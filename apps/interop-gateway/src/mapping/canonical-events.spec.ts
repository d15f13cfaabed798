import { messageTimeOf } from './canonical-events';

describe('messageTimeOf (the message time carried on canonical events)', () => {
  it('MSH-7 with its own offset, as a UTC instant', () => {
    expect(messageTimeOf('20261201083000+0100', undefined, '2026-12-07T10:00:00.000Z')).toBe(
      '2026-12-01T07:30:00.000Z',
    );
  });

  it("MSH-7 without an offset: the institution's default offset, else the ledger's receipt", () => {
    expect(messageTimeOf('20261201083000', '+02:00', '2026-12-07T10:00:00.000Z')).toBe(
      '2026-12-01T06:30:00.000Z',
    );
    expect(messageTimeOf('20261201083000', undefined, '2026-12-07T10:00:00.000Z')).toBe(
      '2026-12-07T10:00:00.000Z',
    );
  });

  it('a date-only or malformed MSH-7 falls back to the receipt; unknown without one', () => {
    expect(messageTimeOf('20261201', undefined, '2026-12-07T10:00:00.000Z')).toBe('2026-12-07T10:00:00.000Z');
    expect(messageTimeOf('not-a-time', undefined, undefined)).toBeUndefined();
  });
});
