import { parseHl7 } from '@tessera/hl7v2';
import type { Institution } from '../institutions/institution';
import { mapHl7Message } from '@tessera/v2-fhir';
import { mappingContextFor } from '../mapping/mapping-context.factory';
import { ackPlanFor, assessMappability, assessMessage, assessSender } from './message-acceptance.policy';

const institution: Institution = {
  id: 'st-aurelia',
  name: 'St. Aurelia',
  sendingFacilities: ['STAURELIA'],
  assigningAuthorities: [{ namespace: 'STA', system: 'urn:oid:1.2.3', default: true }],
  feed: {
    ackMode: 'message',
    defaultCharset: 'UNICODE UTF-8',
    tls: false,
    certificateNames: ['st-aurelia'],
    allowedAddresses: [],
  },
  active: true,
};

function msg(
  type: string,
  segments: string[],
  msh: Partial<{ control: string; processing: string; version: string; ack: string }> = {},
) {
  const header = `MSH|^~\\&|EPIC|STAURELIA|TESSERA|HIE|20260101120000||${type}|${msh.control ?? 'C1'}|${msh.processing ?? 'P'}|${msh.version ?? '2.5.1'}${msh.ack ?? ''}`;
  return parseHl7([header, ...segments].join('\r'));
}

const PID = 'PID|1||12345^^^STA^MR||Doe^Jane||19800101|F';

describe('assessSender', () => {
  const header = { sendingFacility: 'STAURELIA' };

  it('takes MSH-4 of the institution the connection authenticated as', () => {
    expect(assessSender(header, institution, { institutionId: 'st-aurelia' })).toBeUndefined();
  });

  it("refuses with AR 204 at MSH-4 a facility that is not the authenticated institution's, naming both, no content", () => {
    const refusal = assessSender(header, institution, { institutionId: 'riverside' });
    expect(refusal).toMatchObject({
      acceptance: {
        outcome: 'rejected',
        errors: [{ code: 204, severity: 'E', location: { segment: 'MSH', field: 4 } }],
      },
      reason: 'MSH-4 "STAURELIA" is not a sending facility of institution "riverside"',
    });
    expect(refusal?.acceptance.errors[0]?.userMessage).toContain(
      '"STAURELIA" is not a facility of institution "riverside"',
    );
    // An unregistered facility is not the authenticated institution's either.
    expect(
      assessSender({ sendingFacility: 'NOWHERE' }, undefined, { institutionId: 'riverside' }),
    ).toMatchObject({
      acceptance: { outcome: 'rejected', errors: [{ code: 204 }] },
    });
  });

  it('believes MSH-4 on an unbound port, except for an institution that authenticates on its own port', () => {
    expect(assessSender(header, institution, {})).toBeUndefined();
    expect(assessSender(header, undefined, {})).toBeUndefined();
    const listed = {
      ...institution,
      feed: { ...institution.feed, port: 12000, allowedAddresses: ['10.0.0.0/8'] },
    };
    expect(assessSender(header, listed, {})).toMatchObject({
      acceptance: { outcome: 'rejected', errors: [{ code: 204, location: { field: 4 } }] },
    });
    const withTls = { ...institution, feed: { ...institution.feed, port: 12000, tls: true } };
    expect(assessSender(header, withTls, {})?.acceptance.errors[0]?.userMessage).toContain(
      'TLS client certificate',
    );
  });
});

describe('assessMessage', () => {
  it('accepts a complete ADT^A01', () => {
    expect(assessMessage(msg('ADT^A01^ADT_A01', ['EVN|A01', PID, 'PV1|1|I']), institution)).toEqual({
      outcome: 'accepted',
    });
  });

  it('rejects an unknown sending facility with AR and points at MSH-4', () => {
    const result = assessMessage(msg('ADT^A01', [PID]), undefined);
    expect(result).toMatchObject({
      outcome: 'rejected',
      errors: [{ code: 204, location: { segment: 'MSH', field: 4 } }],
    });
  });

  it('answers AR 200 for a message type the exchange does not take', () => {
    const result = assessMessage(msg('SIU^S12', [PID]), institution);
    expect(result).toMatchObject({
      outcome: 'rejected',
      errors: [{ code: 200, location: { field: 9, component: 1 } }],
    });
  });

  it('answers AR 201 for an unsupported trigger of a known type', () => {
    const result = assessMessage(msg('ADT^A17', [PID]), institution);
    expect(result).toMatchObject({
      outcome: 'rejected',
      errors: [{ code: 201, location: { field: 9, component: 2 } }],
    });
  });

  it('answers AE 101 at PID-3 when the patient identifier is missing, without echoing content', () => {
    const result = assessMessage(msg('ADT^A01', ['PID|1||^^^STA^MR||Doe^Jane']), institution);
    expect(result).toMatchObject({
      outcome: 'error',
      errors: [{ code: 101, location: { segment: 'PID', field: 3 } }],
    });
    expect(JSON.stringify(result)).not.toContain('Jane');
  });

  it('answers AE 100 when PID is absent and AE 101 for an A40 without MRG-1', () => {
    expect(assessMessage(msg('ADT^A01', ['PV1|1|I']), institution)).toMatchObject({
      outcome: 'error',
      errors: [{ code: 100 }],
    });
    expect(assessMessage(msg('ADT^A40', [PID, 'MRG|']), institution)).toMatchObject({
      outcome: 'error',
      errors: [{ code: 101, location: { segment: 'MRG', field: 1 } }],
    });
  });

  it('rejects unsupported processing ids and versions', () => {
    expect(assessMessage(msg('ADT^A01', [PID], { processing: 'X' }), institution)).toMatchObject({
      errors: [{ code: 202 }],
    });
    expect(assessMessage(msg('ADT^A01', [PID], { version: '2.2' }), institution)).toMatchObject({
      errors: [{ code: 203 }],
    });
    expect(assessMessage(msg('ADT^A01', [PID], { version: '2.3' }), institution)).toEqual({
      outcome: 'accepted',
    });
  });

  it('requires MSH-10', () => {
    expect(assessMessage(msg('ADT^A01', [PID], { control: '' }), institution)).toMatchObject({
      outcome: 'error',
      errors: [{ code: 101, location: { segment: 'MSH', field: 10 } }],
    });
  });
});

describe('ackPlanFor', () => {
  const enhanced = msg('ADT^A01', [PID], { ack: '|||AL|NE' });
  const original = msg('ADT^A01', [PID]);

  it('follows MSH-15/16 when the feed says "message"', () => {
    expect(ackPlanFor(institution, enhanced).mode).toBe('enhanced');
    expect(ackPlanFor(institution, original).mode).toBe('original');
  });

  it('forces the feed setting', () => {
    expect(
      ackPlanFor({ ...institution, feed: { ...institution.feed, ackMode: 'original' } }, enhanced).mode,
    ).toBe('original');
    expect(
      ackPlanFor({ ...institution, feed: { ...institution.feed, ackMode: 'enhanced' } }, original),
    ).toMatchObject({
      mode: 'enhanced',
      acceptAck: 'AL',
    });
  });
});

describe('assessMappability', () => {
  const context = mappingContextFor(institution);

  it('accepts what the mapper maps', () => {
    const message = msg('ADT^A01^ADT_A01', ['EVN|A01', PID, 'PV1|1|I']);
    expect(assessMappability(mapHl7Message(message, context))).toEqual({ outcome: 'accepted' });
  });

  it("answers AE with the mapper's code and location for content it cannot map", () => {
    const message = msg('ORU^R01^ORU_R01', [PID, 'OBR|1||F-1|', 'OBX|1|NM|2345-7^Glucose^LN||5.5|mmol/L']);
    const result = assessMappability(mapHl7Message(message, context));
    expect(result).toMatchObject({
      outcome: 'error',
      errors: [{ code: 101, location: { segment: 'OBR', field: 4 } }],
    });
  });
});
