import { randomUUID } from 'node:crypto';
import type { Encounter } from '@medplum/fhirtypes';
import { connect, MllpConnectionError, readAckDisposition } from '@tessera/platform-mllp-client';
import type { AckDisposition, MllpClient } from '@tessera/platform-mllp-client';
import { buildAdtNotification } from '@tessera/v2-fhir';
import type { AdtNotificationInput, AdtNotificationTrigger } from '@tessera/v2-fhir';
import { ensureHapiReceiver, startHapiReceiver } from './index';
import type { HapiReceiver } from './index';

/*
 * Tessera's outbound ADT notifications against a receiver that shares no code with Tessera: HAPI
 * HL7v2's SimpleServer with its parser and validation (tools/peers/hapi-receiver). Notifications are
 * built with buildAdtNotification, sent with the platform MLLP client one at a time, and HAPI's real
 * ACKs are read with readAckDisposition.
 */

const ACT_CODE = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';

function encounterFor(trigger: AdtNotificationTrigger): Encounter {
  const base: Encounter = {
    resourceType: 'Encounter',
    status: 'in-progress',
    class: { system: ACT_CODE, code: trigger === 'A04' ? 'EMER' : 'IMP' },
    identifier: [{ system: 'https://st-aurelia.example/fhir/sid/visit', value: `V-${trigger}-1` }],
    period: { start: '2026-12-01T08:00:00+01:00' },
    location: [
      {
        location: {
          display: 'STA/CARD/204/B',
          identifier: { system: 'urn:tessera:location:st-aurelia', value: 'STA/CARD/204/B' },
        },
        status: 'active',
      },
    ],
  };
  switch (trigger) {
    case 'A02':
      return {
        ...base,
        location: [...base.location!, { location: { display: 'STA/ICU/12/1' }, status: 'completed' }],
      };
    case 'A03':
    case 'A08':
      return {
        ...base,
        status: 'finished',
        period: { start: '2026-12-01T08:00:00+01:00', end: '2026-12-04T16:30:00+01:00' },
        hospitalization: { dischargeDisposition: { coding: [{ code: '01', display: 'Discharged home' }] } },
        location: [{ ...base.location![0], status: 'completed' }],
      };
    case 'A01':
    case 'A04':
      return base;
  }
}

function notification(
  trigger: AdtNotificationTrigger,
  overrides: Partial<AdtNotificationInput> = {},
): AdtNotificationInput {
  return {
    trigger,
    controlId: `ntf-${randomUUID()}`,
    messageTime: new Date(),
    processingId: 'T',
    sendingApplication: 'TESSERA',
    sendingFacility: 'NVREGION',
    receivingApplication: 'PRACTICE_EHR',
    receivingFacility: 'NVFP',
    identifiers: [
      {
        system: 'https://nvfp.example/fhir/sid/mrn',
        value: `FP-${trigger}-4411`,
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
    patient: { family: 'Testperson', given: ['Alex', 'Kim'], birthDate: '1980-01-01', gender: 'female' },
    encounter: encounterFor(trigger),
    occurredAt: { institutionId: 'st-aurelia', facilityCode: 'STA' },
    ...overrides,
  };
}

async function sendOne(port: number, text: string, controlId: string): Promise<AckDisposition> {
  const client = await connect({ host: '127.0.0.1', port });
  try {
    const ack = await client.send(text, { timeoutMs: 30_000 });
    return readAckDisposition(ack.text, controlId);
  } finally {
    await client.close();
  }
}

describe('HAPI HL7v2 receives Tessera ADT notifications', () => {
  let receiver: HapiReceiver;

  beforeAll(async () => {
    await ensureHapiReceiver();
    receiver = await startHapiReceiver();
  }, 600_000);

  afterAll(async () => {
    await receiver?.stop();
  });

  it('parses A01, A02, A03, A04 and A08 without error and answers AA to each', async () => {
    const triggers: AdtNotificationTrigger[] = ['A01', 'A02', 'A03', 'A04', 'A08'];
    const sent = triggers.map((trigger) =>
      notification(trigger, trigger === 'A03' ? { closedByRule: true } : {}),
    );
    const client = await connect({ host: '127.0.0.1', port: receiver.port });
    const dispositions: AckDisposition[] = [];
    try {
      // One in flight at a time: HAPI may answer pipelined messages of one connection out of order.
      for (const input of sent) {
        const ack = await client.send(buildAdtNotification(input), { timeoutMs: 30_000 });
        dispositions.push(readAckDisposition(ack.text, input.controlId));
      }
    } finally {
      await client.close();
    }

    expect(dispositions).toEqual(sent.map(() => ({ kind: 'accepted', code: 'AA' })));
    const seen = (await receiver.waitForMessages(sent.length)).filter((m) =>
      sent.some((s) => s.controlId === m.controlId),
    );
    expect(seen).toEqual(
      sent.map((input) => ({
        index: expect.any(Number),
        controlId: input.controlId,
        messageType: `ADT^${input.trigger}^${['A04', 'A08'].includes(input.trigger) ? 'ADT_A01' : `ADT_${input.trigger}`}`,
        pid3: `FP-${input.trigger}-4411`,
        pv12: input.trigger === 'A04' ? 'E' : 'I',
        answer: 'AA',
      })),
    );
  });

  it('accepts a notification without patient details (PID-5/7/8 left empty) and unescapes | ^ ~ \\ & as sent', async () => {
    const nasty = 'FP|4^4~1\\1&X';
    const input = notification('A01', {
      patient: undefined,
      identifiers: [
        {
          system: 'https://nvfp.example/fhir/sid/mrn',
          value: nasty,
          assigningAuthority: 'NV&FP',
          typeCode: 'MR',
        },
      ],
    });
    expect(await sendOne(receiver.port, buildAdtNotification(input), input.controlId)).toEqual({
      kind: 'accepted',
      code: 'AA',
    });
    const line = (await receiver.waitForMessages(6)).find((m) => m.controlId === input.controlId);
    expect(line).toMatchObject({ pid3: nasty, answer: 'AA' });
    expect(line).not.toHaveProperty('parseError');
  });

  it("answers AE with HAPI's error to a malformed ADT, read as rejected without the bad value", async () => {
    const input = notification('A01');
    // An admit time that is no HL7 DTM: HAPI's default validation refuses the message.
    const malformed = buildAdtNotification(input).replace('20261201080000+0100', '2026-12-01T08:00');
    const disposition = await sendOne(receiver.port, malformed, input.controlId);

    expect(disposition).toMatchObject({ kind: 'rejected', code: 'AE' });
    const error = disposition.kind === 'rejected' ? (disposition.error ?? '') : '';
    expect(error).toMatch(/PV1-44/);
    expect(error).not.toContain('2026-12-01T08:00');
    expect(error).toContain("'…'");
    const line = (await receiver.waitForMessages(7)).find((m) => m.controlId === input.controlId);
    expect(line?.answer).toBe('AE');
    expect(line?.parseError).toMatch(/datetime/i);
  });
});

describe('HAPI HL7v2 receiver forced to refuse, for retry paths', () => {
  const receivers: HapiReceiver[] = [];
  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.stop()));
  });

  it('answers AR to the first message (read as retry) and AA when the same message is sent again', async () => {
    const receiver = await startHapiReceiver({ arFirst: 1 });
    receivers.push(receiver);
    const input = notification('A03');
    const text = buildAdtNotification(input);

    const first = await sendOne(receiver.port, text, input.controlId);
    expect(first).toEqual({ kind: 'retry', code: 'AR', error: expect.stringContaining('send again later') });
    expect(await sendOne(receiver.port, text, input.controlId)).toEqual({ kind: 'accepted', code: 'AA' });
    expect((await receiver.waitForMessages(2)).map((m) => [m.controlId, m.answer])).toEqual([
      [input.controlId, 'AR'],
      [input.controlId, 'AA'],
    ]);
  }, 120_000);

  it('drops the connection without an answer for the first message; a resend on a new connection gets AA', async () => {
    const receiver = await startHapiReceiver({ dropFirst: 1 });
    receivers.push(receiver);
    const input = notification('A01');
    const text = buildAdtNotification(input);

    let client: MllpClient = await connect({ host: '127.0.0.1', port: receiver.port });
    await expect(client.send(text, { timeoutMs: 30_000 })).rejects.toBeInstanceOf(MllpConnectionError);
    client.destroy();
    client = await connect({ host: '127.0.0.1', port: receiver.port });
    const ack = await client.send(text, { timeoutMs: 30_000 });
    await client.close();
    expect(readAckDisposition(ack.text, input.controlId)).toEqual({ kind: 'accepted', code: 'AA' });
    expect((await receiver.waitForMessages(2)).map((m) => m.answer)).toEqual(['none', 'AA']);
  }, 120_000);
});
