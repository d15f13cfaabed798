import { randomUUID } from 'node:crypto';
import { Hl7MessageBuilder, parseHl7 } from '@tessera/hl7v2';
import { freePort, startServiceProcess } from '@tessera/testing';
import type { RunningService } from '@tessera/testing';
import { readAck } from '@tessera/platform-mllp-client';
import { ensureHapiSender, ensureMllpSend, sendWithHapi, sendWithMllpSend } from './index';

/*
 * The compiled interop-gateway (own process, real Postgres/Redis/Kafka) answered by two MLLP
 * implementations that share no code with Tessera: Debian's python3-hl7 `mllp_send` and HAPI HL7v2.
 * Institutions come from deploy/demo-region/institutions.yaml (st-aurelia sends as STAURELIA).
 */

function adtA01(sendingFacility: string, controlId: string): string {
  const mrn = `PEER${randomUUID().slice(0, 8).toUpperCase()}`;
  return new Hl7MessageBuilder()
    .msh({
      sendingApplication: 'PEER_TEST',
      sendingFacility,
      receivingApplication: 'TESSERA',
      receivingFacility: 'HIE',
      dateTime: new Date(),
      messageCode: 'ADT',
      triggerEvent: 'A01',
      messageStructure: 'ADT_A01',
      controlId,
      characterSet: 'UNICODE UTF-8',
    })
    .segment('EVN', ['A01'])
    .segment('PID', [
      '1',
      undefined,
      [mrn, '', '', ['STA'], 'MR'],
      undefined,
      ['Peerson', 'Ada'],
      undefined,
      '19800101',
      'F',
    ])
    .segment('PV1', ['1', 'I', ['4W', '101', 'A']])
    .toString();
}

const newControlId = (): string => `PEER-${randomUUID().slice(0, 18)}`;

describe('interop-gateway answers independent MLLP peers', () => {
  let gateway: RunningService;
  let mllpPort: number;

  beforeAll(async () => {
    await Promise.all([ensureMllpSend(), ensureHapiSender()]);
    mllpPort = await freePort();
    gateway = await startServiceProcess('interop-gateway', await freePort(), { MLLP_PORT: String(mllpPort) });
  }, 600_000);

  afterAll(async () => {
    await gateway?.terminate();
  });

  it('python3-hl7 mllp_send: an ADT^A01 from st-aurelia is acknowledged AA with MSA-2 = MSH-10', async () => {
    const controlId = newControlId();
    const ackText = await sendWithMllpSend('127.0.0.1', mllpPort, adtA01('STAURELIA', controlId));
    const ack = readAck(ackText);
    expect({ code: ack.code, controlId: ack.controlId, errors: ack.errors }).toEqual({
      code: 'AA',
      controlId,
      errors: [],
    });
    expect(parseHl7(ackText).header.messageCode).toBe('ACK');
  });

  it('HAPI HL7v2: st-aurelia ADT^A01 gets AA, an ADT from an unknown facility gets AR, on one connection', async () => {
    const known = newControlId();
    const unknown = newControlId();
    const results = await sendWithHapi('127.0.0.1', mllpPort, [
      adtA01('STAURELIA', known),
      adtA01('NOT-A-MEMBER-CLINIC', unknown),
    ]);

    expect(results.map((r) => ({ error: r.error, msa1: r.msa1, msa2: r.msa2 }))).toEqual([
      { error: undefined, msa1: 'AA', msa2: known },
      { error: undefined, msa1: 'AR', msa2: unknown },
    ]);
    expect(results[1].err).toMatch(/MSH-4/);
  });
});
