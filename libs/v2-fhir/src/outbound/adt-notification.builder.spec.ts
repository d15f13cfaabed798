import type { Encounter } from '@medplum/fhirtypes';
import { parseHl7 } from '@tessera/hl7v2';
import type { Hl7Message } from '@tessera/hl7v2';
import { mapHl7Message } from '../message.mapper';
import type { MappingContext, MappingResult } from '../mapping.types';
import { HOSP_A_CONTEXT } from '../testing/mapping-contexts.fixture';
import { ADT_CLOSED_BY_RULE_REASON, buildAdtNotification } from './adt-notification.builder';
import type { AdtNotificationInput, AdtNotificationTrigger } from './adt-notification.builder';

/*
 * The encounters here are what the forward mapping makes of synthetic hosp-a messages, i.e. what
 * the region indexes; the notification built from one is read back with the same forward mapping.
 */

const VISIT_SYSTEM = 'https://hosp-a.example/fhir/sid/visit-number';

function forward(text: string, context: MappingContext = HOSP_A_CONTEXT): MappingResult {
  const outcome = mapHl7Message(parseHl7(text), context);
  if (outcome.status !== 'mapped') throw new Error(`expected mapped, got ${JSON.stringify(outcome)}`);
  return outcome.result;
}

/** An inbound hosp-a ADT as an institution sends it. */
function inbound(trigger: string, pv1: string): string {
  return [
    `MSH|^~\\&|HIS|HOSPA|TESSERA|REGION|20240501083000+0800||ADT^${trigger}|IN-1|P|2.5.1`,
    `EVN|${trigger}|20240501083000+0800`,
    'PID|1||MRN-100231^^^HOSPA^MR||Wang^Xiaoming||19900307|M',
    pv1,
  ].join('\r');
}

const ADMITTED =
  'PV1|1|I|ICU^12^1^HOSPA|||||||MED|||||||||V-5000123^^^HOSPA^VN|||||||||||||||||||||||||20240501080000+0800';
const TRANSFERRED =
  'PV1|1|I|CARD^204^B^HOSPA|||ICU^12^1^HOSPA|||||||||||||V-5000123^^^HOSPA^VN|||||||||||||||||||||||||20240501080000+0800';
const DISCHARGED =
  'PV1|1|I|CARD^204^B^HOSPA||||||||||||||||V-5000123^^^HOSPA^VN|||||||||||||||||01^Discharged home||||||||20240501080000+0800|20240503163000+0800';
const ED_VISIT =
  'PV1|1|E|ED^^^HOSPA||||||||||||||||V-77^^^HOSPA^VN|||||||||||||||||||||||||20240501073000+0800';

const ENCOUNTER_BY_TRIGGER: Record<AdtNotificationTrigger, () => Encounter> = {
  A01: () => forward(inbound('A01', ADMITTED)).encounter!,
  A02: () => forward(inbound('A02', TRANSFERRED)).encounter!,
  A03: () => forward(inbound('A03', DISCHARGED)).encounter!,
  A04: () => forward(inbound('A04', ED_VISIT)).encounter!,
  A08: () => forward(inbound('A08', DISCHARGED)).encounter!,
};

function input(
  trigger: AdtNotificationTrigger,
  overrides: Partial<AdtNotificationInput> = {},
): AdtNotificationInput {
  return {
    trigger,
    controlId: `ntf-${trigger}-0001`,
    messageTime: new Date('2024-05-03T09:00:05Z'),
    processingId: 'P',
    sendingApplication: 'TESSERA',
    sendingFacility: 'NVREGION',
    receivingApplication: 'PRACTICE_EHR',
    receivingFacility: 'NVFP',
    identifiers: [
      {
        system: 'https://nvfp.example/fhir/sid/mrn',
        value: 'FP-4411',
        assigningAuthority: 'NVFP',
        typeCode: 'MR',
      },
      {
        system: 'urn:oid:2.16.840.1.113883.19.5',
        value: 'E-900001',
        assigningAuthority: 'NVREGION',
        typeCode: 'PI',
      },
    ],
    patient: { family: 'Wang', given: ['Xiaoming', 'Lei'], birthDate: '1990-03-07', gender: 'male' },
    encounter: ENCOUNTER_BY_TRIGGER[trigger](),
    occurredAt: { institutionId: 'hosp-a', facilityCode: 'HOSPA' },
    ...overrides,
  };
}

/** How the subscriber's side reads the notification back (the region's forward mapping, subscriber systems). */
const SUBSCRIBER_CONTEXT: MappingContext = {
  institutionId: 'hosp-a',
  patientIdentifierSystems: { NVFP: 'https://nvfp.example/fhir/sid/mrn' },
  defaultPatientSystem: 'https://nvfp.example/fhir/sid/local',
  identifierSystems: { [VISIT_SYSTEM]: VISIT_SYSTEM },
};

const TRIGGERS: readonly AdtNotificationTrigger[] = ['A01', 'A02', 'A03', 'A04', 'A08'];

describe('buildAdtNotification', () => {
  it.each([
    ['A01', 'ADT^A01^ADT_A01'],
    ['A02', 'ADT^A02^ADT_A02'],
    ['A03', 'ADT^A03^ADT_A03'],
    ['A04', 'ADT^A04^ADT_A01'],
    ['A08', 'ADT^A08^ADT_A01'],
  ] as const)('%s: MSH EVN PID PV1 of v2.5.1 with message type %s', (trigger, messageType) => {
    const text = buildAdtNotification(input(trigger));
    const segments = text.split('\r');
    expect(segments.at(-1)).toBe('');
    expect(segments.slice(0, -1).map((s) => s.slice(0, 3))).toEqual(['MSH', 'EVN', 'PID', 'PV1']);
    expect(segments[0]).toBe(
      `MSH|^~\\&|TESSERA|NVREGION|PRACTICE_EHR|NVFP|20240503090005+0000||${messageType}|ntf-${trigger}-0001|P|2.5.1||||||UNICODE UTF-8`,
    );
    expect(segments[1]).toBe(`EVN|${trigger}|20240503090005+0000`);
    const message = parseHl7(text);
    expect(message.header).toMatchObject({ messageCode: 'ADT', triggerEvent: trigger, version: '2.5.1' });
  });

  it('writes PID-3 with CX-4 authority (plus OID and ISO for urn:oid systems) and CX-5 type, and PID-5/7/8', () => {
    const pid = parseHl7(buildAdtNotification(input('A01'))).first('PID')!;
    expect(pid.repetitions(3).map((r) => r.text)).toEqual([
      'FP-4411^^^NVFP^MR',
      'E-900001^^^NVREGION&2.16.840.1.113883.19.5&ISO^PI',
    ]);
    expect(pid.repetitions(5)[0].text).toBe('Wang^Xiaoming^Lei');
    expect(pid.value(7)).toBe('19900307');
    expect(pid.value(8)).toBe('M');
  });

  it('writes PV1: class, current location with the facility, visit number, facility, admit and discharge times', () => {
    const pv1 = parseHl7(buildAdtNotification(input('A03'))).first('PV1')!;
    expect(pv1.value(2)).toBe('I');
    expect(pv1.repetitions(3)[0].text).toBe('CARD^204^B^HOSPA');
    expect(pv1.repetitions(19)[0].text).toBe(`V-5000123^^^&${VISIT_SYSTEM}&URI^VN`);
    expect(pv1.value(36)).toBe('01');
    expect(pv1.value(39)).toBe('HOSPA');
    expect(pv1.value(44)).toBe('20240501080000+0800');
    expect(pv1.value(45)).toBe('20240503163000+0800');
  });

  it('A02 names the prior location in PV1-6; other triggers do not', () => {
    expect(
      parseHl7(buildAdtNotification(input('A02')))
        .first('PV1')!
        .repetitions(6)[0].text,
    ).toBe('ICU^12^1^HOSPA');
    expect(
      parseHl7(buildAdtNotification(input('A01')))
        .first('PV1')!
        .value(6),
    ).toBe('');
  });

  it('escapes | ^ ~ \\ & in every value, and our parser reads them back unchanged', () => {
    const nasty = 'A|B^C~D\\E&F';
    const text = buildAdtNotification(
      input('A01', {
        controlId: `c-${nasty}`,
        sendingFacility: nasty,
        receivingFacility: nasty,
        identifiers: [
          { system: 'https://x.example/mrn', value: nasty, assigningAuthority: nasty, typeCode: 'MR' },
        ],
        patient: { family: nasty, given: [nasty] },
        occurredAt: { institutionId: 'hosp-a', facilityCode: nasty },
      }),
    );
    expect(text.split('\r')).toHaveLength(5);
    const message = parseHl7(text);
    expect(message.header.controlId).toBe(`c-${nasty}`);
    expect(message.header.sendingFacility).toBe(nasty);
    expect(message.header.receivingFacility).toBe(nasty);
    const pid = message.first('PID')!;
    expect(pid.repetitions(3)).toHaveLength(1);
    expect(pid.value(3, 1)).toBe(nasty);
    expect(pid.value(3, 4)).toBe(nasty);
    expect(pid.value(5, 1)).toBe(nasty);
    expect(pid.value(5, 2)).toBe(nasty);
    const pv1 = message.first('PV1')!;
    expect(pv1.value(3, 4)).toBe(nasty);
    expect(pv1.value(39)).toBe(nasty);
  });

  describe('round trip: the forward mapping reads the notification back to an equivalent Encounter', () => {
    it.each(TRIGGERS)('%s', (trigger) => {
      const sent = input(trigger);
      const back = forward(buildAdtNotification(sent), SUBSCRIBER_CONTEXT);
      const original = sent.encounter;
      const encounter = back.encounter!;
      expect(back.warnings).toEqual([]);
      expect(encounter.class).toEqual(original.class);
      expect(encounter.status).toBe(original.status);
      expect(encounter.period).toEqual(original.period);
      expect(encounter.identifier).toEqual(original.identifier);
      expect(encounter.id).toBe(original.id);
      // Locations: PV1-3 (and PV1-6 for A02) as the same facility/point of care/room/bed paths.
      const paths = (e: Encounter): [string | undefined, string | undefined][] =>
        (e.location ?? []).map((l) => [l.location.display, l.status]);
      expect(paths(encounter)).toEqual(paths(original));
      expect(encounter.hospitalization?.dischargeDisposition?.coding?.map((c) => c.code)).toEqual(
        original.hospitalization?.dischargeDisposition?.coding?.map((c) => c.code),
      );
      expect(back.patient.identifier?.map((i) => [i.system, i.value])).toEqual([
        ['https://nvfp.example/fhir/sid/mrn', 'FP-4411'],
        ['urn:oid:2.16.840.1.113883.19.5', 'E-900001'],
      ]);
      expect(back.patient.name).toEqual([{ family: 'Wang', given: ['Xiaoming', 'Lei'] }]);
      expect(back.patient.birthDate).toBe('1990-03-07');
      expect(back.patient.gender).toBe('male');
    });

    it('A08 of a visit still open reads back in progress; an ED registration (A04) keeps class EMER', () => {
      const open = forward(inbound('A08', ADMITTED)).encounter!;
      expect(
        forward(buildAdtNotification(input('A08', { encounter: open })), SUBSCRIBER_CONTEXT).encounter!
          .status,
      ).toBe('in-progress');
      expect(forward(buildAdtNotification(input('A04')), SUBSCRIBER_CONTEXT).encounter!.class.code).toBe(
        'EMER',
      );
    });
  });

  it('carries no value that is not in the input (every field value is traced to an input value or a fixed code)', () => {
    for (const trigger of TRIGGERS) {
      const sent = input(trigger, { closedByRule: true });
      const e = sent.encounter;
      const allowed = new Set<string>([
        // fixed codes: message type, version, charset, set ids, CX/HD types, EVN-4 reason, table codes
        'ADT',
        trigger,
        sent.trigger === 'A04' || sent.trigger === 'A08' ? 'ADT_A01' : `ADT_${trigger}`,
        '2.5.1',
        'UNICODE UTF-8',
        '1',
        'VN',
        'URI',
        'ISO',
        ADT_CLOSED_BY_RULE_REASON,
        'I',
        'E',
        'M',
        // input values
        sent.controlId,
        sent.processingId,
        sent.sendingApplication,
        sent.sendingFacility,
        sent.receivingApplication!,
        sent.receivingFacility,
        '20240503090005+0000',
        ...sent.identifiers.flatMap((i) => [
          i.value,
          i.assigningAuthority,
          i.typeCode,
          i.system.replace('urn:oid:', ''),
        ]),
        sent.patient!.family!,
        ...sent.patient!.given!,
        'Lei',
        '19900307',
        sent.occurredAt.facilityCode!,
        VISIT_SYSTEM,
        ...(e.identifier ?? []).map((i) => i.value!),
        ...(e.location ?? []).flatMap((l) => l.location.display!.split('/')),
        ...(e.hospitalization?.dischargeDisposition?.coding ?? []).map((c) => c.code!),
        ...[e.period?.start, e.period?.end]
          .filter((v) => v !== undefined)
          .map((v) => v.replace(/[-:T]/g, '')),
      ]);
      const message = parseHl7(buildAdtNotification(sent));
      const unexplained = leafValues(message).filter((v) => !allowed.has(v.value));
      expect(unexplained).toEqual([]);
    }
  });

  it('without patient details leaves PID-5, PID-7 and PID-8 empty, never the HL7 null ""', () => {
    const text = buildAdtNotification(input('A01', { patient: undefined }));
    const pid = parseHl7(text).first('PID')!;
    expect([pid.value(5), pid.value(7), pid.value(8)]).toEqual(['', '', '']);
    expect(text).not.toContain('""');
    // Partial details: only what is given.
    const partial = parseHl7(buildAdtNotification(input('A01', { patient: { gender: 'female' } }))).first(
      'PID',
    )!;
    expect([partial.value(5), partial.value(7), partial.value(8)]).toEqual(['', '', 'F']);
  });

  it('says in EVN-4 when Tessera closed the visit by rule, and only then', () => {
    expect(
      parseHl7(buildAdtNotification(input('A03', { closedByRule: true })))
        .first('EVN')!
        .value(4),
    ).toBe('ZCR');
    expect(
      parseHl7(buildAdtNotification(input('A03')))
        .first('EVN')!
        .value(4),
    ).toBe('');
  });

  it('sends PV1-2 U for a class it cannot map back, and PV1-3 with only the facility when no location is known', () => {
    const encounter: Encounter = {
      resourceType: 'Encounter',
      status: 'in-progress',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'VR' },
    };
    const pv1 = parseHl7(buildAdtNotification(input('A04', { encounter }))).first('PV1')!;
    expect(pv1.value(2)).toBe('U');
    expect(pv1.repetitions(3)[0].text).toBe('^^^HOSPA');
    expect([pv1.value(19), pv1.value(44), pv1.value(45)]).toEqual(['', '', '']);
  });

  it('refuses input it cannot send, without echoing values', () => {
    expect(() => buildAdtNotification(input('A01', { identifiers: [] }))).toThrow(/PID-3 is required/);
    expect(() => buildAdtNotification(input('A01', { controlId: '' }))).toThrow(RangeError);
    expect(() => buildAdtNotification(input('A01', { controlId: 'x'.repeat(200) }))).toThrow(/1 to 199/);
    expect(buildAdtNotification(input('A01', { controlId: 'x'.repeat(199) }))).toContain('x'.repeat(199));
    expect(() => buildAdtNotification(input('A01', { patient: { birthDate: '07/03/1990' } }))).toThrow(
      'PID-7: the value is not a FHIR date or dateTime.',
    );
  });
});

/** Every non-empty component / sub-component value of the message (MSH-1 and MSH-2 excluded). */
function leafValues(message: Hl7Message): { readonly where: string; readonly value: string }[] {
  const out: { where: string; value: string }[] = [];
  for (const segment of message.segments) {
    for (let field = segment.name === 'MSH' ? 3 : 1; field <= segment.fieldCount; field++) {
      for (const rep of segment.repetitions(field)) {
        for (let c = 1; c <= rep.componentCount; c++) {
          for (const value of rep.subComponents(c)) {
            if (value !== '') out.push({ where: `${segment.name}-${field}.${c}`, value });
          }
        }
      }
    }
  }
  return out;
}
