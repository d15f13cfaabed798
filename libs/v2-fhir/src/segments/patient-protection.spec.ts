import { parseHl7 } from '@tessera/hl7v2';
import { mapHl7Message } from '../message.mapper';
import { HOSP_A_CONTEXT } from '../testing/mapping-contexts.fixture';
import { PROTECTION_INDICATOR_EXTENSION, protectionIndicatorOf } from './patient.mapper';

const MSH = 'MSH|^~\\&|HIS|HOSPA|TESSERA|REGION|20240501083000+0800||ADT^A28^ADT_A05|CTRL-1|P|2.5.1';
const PID = 'PID|1||MRN-1^^^HOSPA^MR||Testperson^Alex^^^^^L||19800101|F';

function protectionOf(pd1: string | undefined): boolean | undefined {
  const segments = pd1 === undefined ? [MSH, PID] : [MSH, PID, pd1];
  const outcome = mapHl7Message(parseHl7(segments.join('\r')), HOSP_A_CONTEXT);
  if (outcome.status !== 'mapped') throw new Error(`expected mapped, got ${outcome.status}`);
  return protectionIndicatorOf(outcome.result.patient);
}

describe('PD1-12 protection indicator (table 0136)', () => {
  it('maps Y to true and N to false on the Patient extension', () => {
    expect(protectionOf('PD1||||||||||||Y')).toBe(true);
    expect(protectionOf('PD1||||||||||||n')).toBe(false);
  });

  it('adds nothing when PD1-12 is empty, unknown or PD1 is absent', () => {
    expect(protectionOf('PD1|||Community Clinic^^CC')).toBeUndefined();
    expect(protectionOf('PD1||||||||||||X')).toBeUndefined();
    expect(protectionOf(undefined)).toBeUndefined();
  });

  it('reads the extension by its URL', () => {
    expect(protectionIndicatorOf({ extension: [{ url: PROTECTION_INDICATOR_EXTENSION, valueBoolean: true }] })).toBe(true);
    expect(protectionIndicatorOf({})).toBeUndefined();
  });
});
