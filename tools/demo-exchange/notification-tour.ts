import { connect, readAck } from '@tessera/platform-mllp-client';
import { subscriptionOf } from '../exchange-client/subscriptions';
import { WebhookReceiver } from '../exchange-client/webhook-receiver';
import type { DemoInstitution } from '../demo-feed/institutions.loader';

/*
 * The outbound half in the tour: Riverside's care team registers a roster with its own patient,
 * subscribes to admissions with a webhook (a small receiver the tour starts on 127.0.0.1), St
 * Aurelia's feed admits the patient, and the tour prints the notification the webhook received,
 * whether its signature verified, and the encounter Riverside then reads with its own token.
 * The subscription is turned off at the end, so the next tour starts clean.
 */

export interface TourAnswer {
  readonly status: number;
  readonly json: Record<string, unknown>;
  readonly headers: Headers;
}

export type TourCall = (
  client: string,
  path: string,
  init?: {
    purpose?: string;
    method?: string;
    body?: unknown;
    rawBody?: string;
    contentType?: string;
    headers?: Record<string, string>;
  },
) => Promise<TourAnswer>;

export interface TourStep {
  readonly what: string;
  readonly who: string;
  readonly purpose: string;
  readonly status: number;
  readonly result: string;
  readonly ok: boolean;
}

export interface NotificationTourInput {
  readonly call: TourCall;
  readonly step: (s: TourStep) => void;
  readonly subscriber: {
    readonly client: string;
    readonly patient: { readonly system: string; readonly value: string };
  };
  /** Where the admission happens: the institution and its local id of the same person. */
  readonly admitting: { readonly institution: DemoInstitution; readonly localId: string };
  readonly mllp: { readonly host: string; readonly port: number };
  readonly waitSeconds: number;
}

function parameter(json: Record<string, unknown>, name: string): string | number | undefined {
  const p = (
    json['parameter'] as
      { name?: string; valueInteger?: number; valueReference?: { reference?: string } }[] | undefined
  )?.find((x) => x.name === name);
  return p?.valueInteger ?? p?.valueReference?.reference;
}

/** An ADT^A01 (inpatient admission) of a patient St Aurelia already knows: only its MRN, so the MPI keeps the rest. */
function admission(institution: DemoInstitution, localId: string, control: string): string {
  const stamp = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const facility = institution.sendingFacilities[0] ?? institution.id.toUpperCase();
  const pv1 = new Array<string>(45).fill('');
  pv1[0] = 'PV1';
  pv1[1] = '1';
  pv1[2] = 'I';
  pv1[3] = `WARD3^12^1^${facility}`;
  pv1[10] = 'MED';
  pv1[19] = `${control}^^^${institution.assigningAuthority}^VN`;
  pv1[44] = stamp;
  return [
    `MSH|^~\\&|ADT|${facility}|TESSERA|REGION|${stamp}||ADT^A01^ADT_A01|${control}|P|2.5.1`,
    `EVN|A01|${stamp}`,
    `PID|1||${localId}^^^${institution.assigningAuthority}^MR`,
    pv1.join('|'),
  ].join('\r');
}

export async function notificationTour(input: NotificationTourInput): Promise<void> {
  const { call, step, subscriber } = input;
  const webhook = new WebhookReceiver();
  const base = await webhook.start();
  let subscriptionId = '';
  try {
    const roster = await call(subscriber.client, '/fhir/Group', {
      method: 'POST',
      rawBody: `system,value\r\n${subscriber.patient.system},${subscriber.patient.value}\r\n`,
      contentType: 'text/csv',
    });
    const rosterId = String(parameter(roster.json, 'group') ?? '').replace('Group/', '');
    step({
      what: 'Riverside registers its care roster (CSV upload)',
      who: subscriber.client,
      purpose: '-',
      status: roster.status,
      result: `Group/${rosterId.slice(0, 8)}…: ${String(parameter(roster.json, 'members'))} member, ${String(parameter(roster.json, 'resolved'))} resolved to a person`,
      ok: roster.status === 201,
    });

    const created = await call(subscriber.client, '/fhir/Subscription', {
      method: 'POST',
      body: subscriptionOf({
        topic: 'admission',
        roster: rosterId,
        endpoint: `${base}/riverside/notifications`,
      }),
    });
    subscriptionId = typeof created.json['id'] === 'string' ? created.json['id'] : '';
    const secret = created.headers.get('x-tessera-webhook-secret') ?? '';
    webhook.trust(subscriptionId, secret);
    const active = await webhook
      .until(
        () => webhook.received.some((r) => r.type === 'handshake'),
        input.waitSeconds * 1000,
        'the handshake',
      )
      .then(
        () => true,
        () => false,
      );
    step({
      what: '… and subscribes to admissions anywhere (rest-hook)',
      who: subscriber.client,
      purpose: '-',
      status: created.status,
      result: `Subscription ${active ? 'active after its handshake' : 'no handshake'}; secret ${secret === '' ? 'missing' : 'shown once'}`,
      ok: created.status === 201 && active,
    });

    const control = `TOURN${Date.now().toString(36).toUpperCase()}`;
    let ack = '';
    try {
      const client = await connect({ host: input.mllp.host, port: input.mllp.port });
      try {
        ack = readAck(
          (
            await client.send(admission(input.admitting.institution, input.admitting.localId, control), {
              timeoutMs: 15_000,
            })
          ).text,
        ).code;
      } finally {
        client.destroy();
      }
    } catch (error) {
      ack = `no ACK: ${(error as Error).message}`;
    }
    step({
      what: `${input.admitting.institution.id} admits the patient (ADT^A01 over MLLP)`,
      who: input.admitting.institution.id,
      purpose: '-',
      status: 0,
      result: `MLLP ACK ${ack}`,
      ok: ack === 'AA' || ack === 'CA',
    });

    const arrived = await webhook
      .until(() => webhook.events(subscriptionId).length > 0, input.waitSeconds * 1000, 'the notification')
      .then(
        () => webhook.events(subscriptionId)[0],
        () => undefined,
      );
    const focus = arrived?.events[0]?.focus ?? '';
    step({
      what: "Riverside's webhook receives the notification",
      who: 'webhook',
      purpose: '-',
      status: 0,
      result:
        arrived === undefined
          ? 'nothing arrived'
          : `admission #${arrived.events[0]?.eventNumber ?? '?'} ${focus.replace(/^.*\/fhir\//, '')}; signature ${arrived.signature.ok ? 'verified (HMAC-SHA256)' : `NOT verified (${arrived.signature.reason})`}`,
      ok: arrived !== undefined && arrived.signature.ok,
    });

    const encounterId = focus.replace(/^.*\/Encounter\//, '');
    const read = await call(
      subscriber.client,
      `/fhir/Encounter?patient=${encodeURIComponent(`${subscriber.patient.system}|${subscriber.patient.value}`)}&_count=50`,
      { purpose: 'TREAT' },
    );
    const entry = (
      (read.json['entry'] as
        { resource?: { id?: string; class?: { code?: string }; status?: string } }[] | undefined) ?? []
    ).find((e) => e.resource?.id === encounterId);
    step({
      what: '… and reads that encounter with its own token (id-only)',
      who: subscriber.client,
      purpose: 'TREAT',
      status: read.status,
      result:
        entry === undefined
          ? 'not found'
          : `Encounter ${entry.resource?.class?.code ?? '?'} ${entry.resource?.status ?? '?'}`,
      ok: read.status === 200 && entry !== undefined,
    });

    const log = await call(subscriber.client, `/fhir/Subscription/${subscriptionId}/$deliveries`);
    const delivered = (
      (log.json['deliveries'] as
        { status?: string; latencyMs?: number | null; kind?: string }[] | undefined) ?? []
    ).find((d) => d.kind === 'event-notification' && d.status === 'delivered');
    step({
      what: 'The delivery log of the subscription',
      who: subscriber.client,
      purpose: '-',
      status: log.status,
      result:
        delivered === undefined
          ? 'no delivery logged'
          : `delivered, ${String(delivered.latencyMs)} ms after the event`,
      ok: log.status === 200 && delivered !== undefined,
    });
  } finally {
    if (subscriptionId !== '')
      await call(subscriber.client, `/fhir/Subscription/${subscriptionId}`, {
        method: 'PUT',
        body: { resourceType: 'Subscription', id: subscriptionId, status: 'off' },
      }).catch(() => undefined);
    await webhook.stop();
  }
}
