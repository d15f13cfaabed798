import { parseHl7 } from '@tessera/hl7v2';
import { mapHl7Message } from '../message.mapper';
import { HOSP_A_CONTEXT } from '../testing/mapping-contexts.fixture';
import { PROTECTION_INDICATOR_EXTENSION, protectionIndicatorOf } from './patient.mapper';

const MSH = 'MSH|^~\\&|HIS|HOSPA|TESSERA|REGION|20240501083000+0800||ADT^A28^ADT_A05|CTRL-1|P|2.5.1';
const PID = 'PID|1||MRN-1^^^HOSPA^MR||Testperson^Alex^^^^^L||19800101|F';

/** The Patient's protection extensions after mapping a whole message through the real message mapper. */
function protectionExtensionsOf(pd1: string | undefined): unknown[] {
  const segments = pd1 === undefined ? [MSH, PID] : [MSH, PID, pd1];
  const outcome = mapHl7Message(parseHl7(segments.join('\r')), HOSP_A_CONTEXT);
  if (outcome.status !== 'mapped') throw new Error(`expected mapped, got ${outcome.status}`);
  return (outcome.result.patient.extension ?? []).filter((e) => e.url === PROTECTION_INDICATOR_EXTENSION);
}

function protectionOf(pd1: string | undefined): boolean | undefined {
  const [extension] = protectionExtensionsOf(pd1) as Array<{ valueBoolean?: boolean }>;
  return extension === undefined ? undefined : protectionIndicatorOf({ extension: [extension as never] });
}

describe('PD1-12 protection indicator (table 0136; absent means no change)', () => {
  it('maps Y to true and N to false on the Patient extension', () => {
    expect(protectionExtensionsOf('PD1||||||||||||Y')).toEqual([
      { url: PROTECTION_INDICATOR_EXTENSION, valueBoolean: true },
    ]);
    expect(protectionOf('PD1||||||||||||N')).toBe(false);
    expect(protectionOf('PD1||||||||||||n')).toBe(false);
  });

  it('maps the explicit null "" (clear the indicator) to false: no protection requested', () => {
    expect(protectionExtensionsOf('PD1||||||||||||""')).toEqual([
      { url: PROTECTION_INDICATOR_EXTENSION, valueBoolean: false },
    ]);
  });

  it('adds no extension when PD1 is absent or PD1-12 is empty (the consent service keeps what it has)', () => {
    expect(protectionExtensionsOf(undefined)).toEqual([]);
    expect(protectionExtensionsOf('PD1|||Community Clinic^^CC')).toEqual([]);
    expect(protectionExtensionsOf('PD1||||||||||||')).toEqual([]);
    expect(protectionExtensionsOf('PD1||||||||||||X')).toEqual([]);
  });

  it('reads the extension by its URL', () => {
    expect(
      protectionIndicatorOf({ extension: [{ url: PROTECTION_INDICATOR_EXTENSION, valueBoolean: true }] }),
    ).toBe(true);
    expect(protectionIndicatorOf({})).toBeUndefined();
  });
});
