import {
  dropTestDatabase,
  freePort,
  startServiceProcess,
  uniqueTestId,
  workspacePath,
} from '@tessera/testing';
import { CLOSED_BY_RULE_TAG } from '@tessera/subscriptions';
import { rosterOf, subscriptionOf } from '../exchange-client/subscriptions';
import { startHapiReceiver } from '../peers';
import type { HapiReceiver } from '../peers';
import type { SubscriptionSpec } from '../exchange-client/subscriptions';
import { WebhookReceiver } from '../exchange-client/webhook-receiver';
import type { ReceivedNotification } from '../exchange-client/webhook-receiver';
import { ackOf, mllpFrom, RCC_ADDRESS, Region, STA_ADDRESS, summary } from './trust-model.harness';
import { adt, mdmT02, optOutConsent, RCC_SYSTEM, STA_SYSTEM, trustPerson } from './trust-model.builder';
import type { BuiltMessage, TrustPerson, VisitOptions } from './trust-model.builder';

/*
 * The outbound half of the exchange, tried as subscribing institutions would, through the five
 * compiled services (dist/) and a real HTTP webhook: Riverside registers a roster of St Aurelia
 * patients and subscribes; St Aurelia's feed admits, transfers and discharges them; what reaches
 * Riverside's webhook is checked for its signature, its order and its count, and against consent.
 * Retry and breaker bounds are short (set below) so a "long" outage is seconds, not hours; nothing
 * asserts on how long anything took.
 */

const run = uniqueTestId('n');
const tools = { startServiceProcess, freePort, dropTestDatabase, workspacePath };
const region = new Region({
  run,
  suffix: `notify-${run}`,
  tools,
  env: {
    exchange: {
      NOTIFY_RETRY_BASE_MS: '100',
      NOTIFY_RETRY_MAX_MS: '400',
      NOTIFY_RETRY_ATTEMPTS: '4',
      NOTIFY_BREAKER_FAILURES: '3',
      NOTIFY_BREAKER_COOLDOWN_MS: '200',
      NOTIFY_BREAKER_MAX_COOLDOWN_MS: '500',
      NOTIFY_LEASE_MS: '3000',
      NOTIFY_POLL_MS: '200',
      NOTIFY_COALESCE_WINDOW_MS: '300',
      NOTIFY_VISIT_SWEEP_MS: '500',
      NOTIFY_EMERGENCY_MAX_OPEN_SECONDS: '2',
    },
  },
});
const notifyGroup = `exchange.notify.notify-${run}`;
const webhook = new WebhookReceiver();
let webhookUrl = '';
let failed = false;

/** Given names of the suite's persons: distinct, so the MPI never links two of them. */
const GIVEN: Record<string, string> = {
  a: 'Amadea',
  b: 'Bertolt',
  c: 'Cosima',
  d: 'Dariusz',
  e: 'Elowen',
  f: 'Fenna',
  g: 'Gideon',
  h: 'Hollis',
  i: 'Ilsabet',
  m: 'Mattis',
  n: 'Nuria',
  p: 'Philippa',
  q: 'Quirin',
  r: 'Rosalind',
};
const person = (key: string): TrustPerson => trustPerson(run, key, GIVEN[key]);
const people = {
  admitted: person('a'),
  downB: person('b'),
  downC: person('c'),
  crash: ['d', 'e', 'f', 'g', 'h', 'i'].map(person),
  rccOwn: person('m'),
  staOther: person('n'),
  labelled: person('p'),
  emergency: person('q'),
  v2: person('r'),
};
/** Address and phone are the same for every person of a run: never sent here. */
const NO_CONTACT = { contact: false } as const;
const staId = (p: TrustPerson) => ({ system: STA_SYSTEM, value: p.staMrn });

/** Subscription ids by name, and Riverside's roster. */
const subs: Record<string, string> = {};
let rosterId = '';

async function send(site: 'sta' | 'rcc', messages: readonly BuiltMessage[]): Promise<void> {
  const outcome = await mllpFrom(
    site === 'sta' ? region.staPort : region.rccPort,
    messages.map((m) => m.bytes),
    {
      localAddress: site === 'sta' ? STA_ADDRESS : RCC_ADDRESS,
    },
  );
  const codes = outcome.acks.map((a) => ackOf(a).code);
  if (codes.length !== messages.length || codes.some((c) => c !== 'AA' && c !== 'CA'))
    throw new Error(`feed not accepted: ${JSON.stringify({ codes, error: outcome.error })}`);
}

const inpatient = (tag: string): VisitOptions => ({
  patientClass: 'I',
  number: `V-${tag}`,
  location: 'WARD3',
});

async function subscribe(client: string, name: string, spec: SubscriptionSpec): Promise<string> {
  const answer = region.remember(
    `${client} POST Subscription ${name}`,
    await region.call(client, '/fhir/Subscription', { method: 'POST', body: subscriptionOf(spec) }),
  );
  const id = typeof answer.json['id'] === 'string' ? answer.json['id'] : '';
  const secret = answer.headers.get('x-tessera-webhook-secret');
  if (answer.status !== 201 || id === '')
    throw new Error(`subscription ${name} refused: ${JSON.stringify(summary(answer))}`);
  if (secret !== null) webhook.trust(id, secret);
  subs[name] = id;
  // Active once the handshake reached the endpoint.
  await region.until(
    `${name} active`,
    () => region.call(client, `/fhir/Subscription/${id}`),
    (a) => a.json['status'] === 'active',
    60_000,
  );
  return id;
}

/** The enterprise id in a notification's additional context. */
function patientOf(n: ReceivedNotification): string {
  const status = n.bundle.entry?.[0]?.resource as {
    parameter?: { name?: string; part?: { name?: string; valueReference?: { reference?: string } }[] }[];
  };
  const event = status.parameter?.find((p) => p.name === 'notification-event');
  const ref = event?.part?.find((p) => p.name === 'additional-context')?.valueReference?.reference ?? '';
  return ref.replace(/^.*Patient\//, '');
}

function notificationsFor(subscription: string, enterpriseId: string): ReceivedNotification[] {
  return webhook.events(subscription).filter((n) => patientOf(n) === enterpriseId);
}

async function eidOf(p: TrustPerson, site: 'sta' | 'rcc' = 'sta'): Promise<string> {
  const system = site === 'sta' ? STA_SYSTEM : RCC_SYSTEM;
  const value = site === 'sta' ? p.staMrn : p.rccMrn;
  let eid: string | null = null;
  const deadline = Date.now() + 90_000;
  while (eid === null && Date.now() < deadline) {
    eid = await region.enterpriseIdOf(system, value);
    if (eid === null) await new Promise((r) => setTimeout(r, 500));
  }
  if (eid === null) throw new Error(`no enterprise id for ${p.tag} at ${site}`);
  return eid;
}

async function deliveries(client: string, subscription: string, status?: string) {
  const answer = await region.call(
    client,
    `/fhir/Subscription/${subscription}/$deliveries${status === undefined ? '' : `?status=${status}`}`,
  );
  return (
    (answer.json['deliveries'] as {
      topic: string | null;
      status: string;
      attempts: number;
      latencyMs: number | null;
    }[]) ?? []
  );
}

/** Waits until the MPI published the link events of a merge/unmerge and the notifier applied them. */
async function linkEventsPublished(before: bigint): Promise<void> {
  const deadline = Date.now() + 60_000;
  while ((await region.recordsOn('hie.mpi.link')) <= before) {
    if (Date.now() > deadline) throw new Error('the MPI published no link event for the operator decision');
    await new Promise((r) => setTimeout(r, 300));
  }
  await region.caughtUp([{ topic: 'hie.mpi.link', group: notifyGroup }]);
}

beforeAll(async () => {
  webhookUrl = await webhook.start();
  await region.start();
  const roster = region.remember(
    'riverside POST Group',
    await region.call('riverside-ehr', '/fhir/Group', {
      method: 'POST',
      body: rosterOf('Riverside care management', [
        staId(people.admitted),
        staId(people.downB),
        staId(people.downC),
        ...people.crash.map(staId),
        { system: RCC_SYSTEM, value: people.rccOwn.rccMrn },
        staId(people.labelled),
        staId(people.emergency),
        staId(people.v2),
      ]),
    }),
  );
  const group =
    (roster.json['parameter'] as
      { name: string; valueReference?: { reference?: string }; valueInteger?: number }[] | undefined) ?? [];
  rosterId = (group.find((p) => p.name === 'group')?.valueReference?.reference ?? '').replace('Group/', '');
  if (roster.status !== 201 || rosterId === '')
    throw new Error(`roster refused: ${JSON.stringify(summary(roster))}`);
  const hook = (
    topic: SubscriptionSpec['topic'],
    extra: Partial<SubscriptionSpec> = {},
  ): SubscriptionSpec => ({
    topic,
    roster: rosterId,
    endpoint: `${webhookUrl}/riverside`,
    ...extra,
  });
  await subscribe('riverside-ehr', 'rccAdmission', hook('admission', { classes: ['IMP'] }));
  await subscribe('riverside-ehr', 'rccTransfer', hook('transfer'));
  await subscribe('riverside-ehr', 'rccDischarge', hook('discharge'));
  await subscribe('riverside-ehr', 'rccDocument', hook('new-document', { payload: 'full-resource' }));
  await subscribe('riverside-ehr', 'rccDeparture', hook('emergency-departure', { payload: 'full-resource' }));
  await subscribe('sta-ehr', 'staDischarge', {
    topic: 'discharge',
    roster: 'implicit',
    endpoint: `${webhookUrl}/st-aurelia`,
  });
}, 300_000);

/** On failure: each subscription's status and delivery log, and what the webhook got (ids, topics, statuses; no patient data). */
async function diagnostics(): Promise<string> {
  const lines: string[] = [];
  for (const [name, id] of Object.entries(subs)) {
    const client = name.startsWith('sta') ? 'sta-ehr' : 'riverside-ehr';
    const subscription = await region.call(client, `/fhir/Subscription/${id}`);
    lines.push(
      `${name} ${String(subscription.json['status'])} ${JSON.stringify(await deliveries(client, id))}`,
    );
  }
  const received = webhook.received.map((r) => ({
    type: r.type,
    sub: r.subscription.slice(-8),
    events: r.events.map((e) => e.eventNumber),
  }));
  lines.push(`received ${JSON.stringify(received)}`);
  return lines.join('\n');
}

let hapi: HapiReceiver | undefined;

afterAll(async () => {
  await hapi?.stop();
  if (failed) process.stderr.write(`notifications: ${await diagnostics().catch((e: Error) => e.message)}\n`);
  await region.stop(failed);
  await webhook.stop();
}, 180_000);

afterEach(() => {
  if (expect.getState().assertionCalls === 0) failed = true;
});

const wrap = (fn: () => Promise<void>) => async () => {
  try {
    await fn();
  } catch (error) {
    failed = true;
    throw error;
  }
};

describe('encounter notifications through the running region', () => {
  it(
    "an admission at St Aurelia of a patient on Riverside's roster reaches Riverside's webhook, signed and verifiable",
    wrap(async () => {
      const p = people.admitted;
      await send('sta', [
        adt('sta', 'A04', p, `${p.tag}-a04`, NO_CONTACT),
        adt('sta', 'A01', p, `${p.tag}-a01`, NO_CONTACT, new Date(), inpatient(p.tag)),
      ]);
      const eid = await eidOf(p);
      await webhook.until(
        () => notificationsFor(subs['rccAdmission'] ?? '', eid).length === 1,
        90_000,
        'the admission notification',
      );
      const [notification] = notificationsFor(subs['rccAdmission'] ?? '', eid);
      expect(notification?.signature).toEqual({ ok: true });
      expect(notification?.events[0]?.focus).toMatch(/\/fhir\/Encounter\/[A-Za-z0-9\-.]+$/);
      // id-only (the default): the Bundle names the encounter, the subscriber reads it with its token.
      expect(notification?.bundle.entry?.slice(1).every((e) => e.resource === undefined)).toBe(true);
      const status = await region.call('riverside-ehr', `/fhir/Subscription/${subs['rccAdmission']}/$status`);
      expect(status.status).toBe(200);
      const log = await deliveries('riverside-ehr', subs['rccAdmission'] ?? '');
      expect(
        log.filter((d) => d.status === 'delivered' && d.topic === 'admission').length,
      ).toBeGreaterThanOrEqual(1);
      expect(log.every((d) => d.latencyMs === null || d.latencyMs >= 0)).toBe(true);
      // Another institution cannot see or change Riverside's subscription.
      expect((await region.call('sta-ehr', `/fhir/Subscription/${subs['rccAdmission']}`)).status).toBe(404);
      expect((await region.call('sta-ehr', `/fhir/Group/${rosterId}`)).status).toBe(404);
    }),
    180_000,
  );

  it(
    'after the patient opts out, Riverside (no record of them) hears nothing more; St Aurelia still gets its own',
    wrap(async () => {
      const p = people.admitted;
      const consent = await region.call('sta-ehr', '/fhir/Consent', {
        method: 'POST',
        purpose: 'TREAT',
        body: optOutConsent(STA_SYSTEM, p.staMrn, 'st-aurelia'),
      });
      expect(consent.status).toBe(201);
      const eid = await eidOf(p);
      await send('sta', [
        adt('sta', 'A03', p, `${p.tag}-a03`, NO_CONTACT, new Date(), {
          ...inpatient(p.tag),
          dischargedAt: new Date(),
        }),
      ]);
      // St Aurelia's own discharge is matched in the same transaction as Riverside's would be.
      await webhook.until(
        () => notificationsFor(subs['staDischarge'] ?? '', eid).length === 1,
        90_000,
        "St Aurelia's own discharge",
      );
      expect(notificationsFor(subs['rccDischarge'] ?? '', eid)).toHaveLength(0);
      const log = await deliveries('riverside-ehr', subs['rccDischarge'] ?? '');
      expect(log.filter((d) => d.topic === 'discharge')).toHaveLength(0);
    }),
    180_000,
  );

  it(
    'a subscriber down for a long stretch gets everything afterwards, in order per patient, nothing lost or doubled',
    wrap(async () => {
      webhook.mode = 'down';
      const refusedBefore = webhook.refused;
      for (const p of [people.downB, people.downC]) {
        const at = Date.now();
        await send('sta', [
          adt('sta', 'A04', p, `${p.tag}-a04`, NO_CONTACT, new Date(at)),
          adt('sta', 'A01', p, `${p.tag}-a01`, NO_CONTACT, new Date(at + 1000), inpatient(p.tag)),
          adt('sta', 'A02', p, `${p.tag}-a02`, NO_CONTACT, new Date(at + 2000), {
            ...inpatient(p.tag),
            location: 'ICU',
          }),
          adt('sta', 'A03', p, `${p.tag}-a03`, NO_CONTACT, new Date(at + 3000), {
            ...inpatient(p.tag),
            location: 'ICU',
            dischargedAt: new Date(at + 3000),
          }),
        ]);
      }
      // Down well past the retry bound (4 attempts): attempts and breaker probes keep failing.
      await webhook.until(() => webhook.refused - refusedBefore >= 16, 120_000, 'sixteen refused requests');
      webhook.mode = 'up';
      const eids = [await eidOf(people.downB), await eidOf(people.downC)];
      const topicOf = (n: ReceivedNotification): string =>
        n.subscription.endsWith(subs['rccAdmission'] ?? '?')
          ? 'admission'
          : n.subscription.endsWith(subs['rccTransfer'] ?? '?')
            ? 'transfer'
            : n.subscription.endsWith(subs['rccDischarge'] ?? '?')
              ? 'discharge'
              : 'other';
      const received = (eid: string) =>
        webhook.events().filter((n) => patientOf(n) === eid && topicOf(n) !== 'other');
      await webhook.until(
        () => eids.every((eid) => received(eid).length >= 3),
        120_000,
        'all six notifications',
      );
      for (const eid of eids) {
        const got = received(eid);
        expect(got.map(topicOf)).toEqual(['admission', 'transfer', 'discharge']);
        expect(new Set(got.map((n) => n.notificationId)).size).toBe(3);
        expect(got.every((n) => n.signature.ok)).toBe(true);
      }
      for (const name of ['rccAdmission', 'rccTransfer', 'rccDischarge'])
        expect(await deliveries('riverside-ehr', subs[name] ?? '', 'parked')).toHaveLength(0);
    }),
    300_000,
  );

  it(
    'kill -9 of the exchange mid-stream: every notification arrives, none twice under two ids',
    wrap(async () => {
      webhook.mode = 'slow';
      webhook.slowMs = 300;
      const eids: string[] = [];
      for (const p of people.crash)
        await send('sta', [
          adt('sta', 'A04', p, `${p.tag}-a04`, NO_CONTACT),
          adt('sta', 'A01', p, `${p.tag}-a01`, NO_CONTACT, new Date(), inpatient(p.tag)),
        ]);
      for (const p of people.crash) eids.push(await eidOf(p));
      const admissions = () =>
        webhook.events(subs['rccAdmission']).filter((n) => eids.includes(patientOf(n)));
      await webhook.until(() => admissions().length >= 1, 120_000, 'the first admission of the stream');
      await region.crashAndRestart('exchange');
      webhook.mode = 'up';
      await webhook.until(
        () => new Set(admissions().map(patientOf)).size === eids.length,
        180_000,
        'every admission after the crash',
      );
      for (const eid of eids) {
        const ids = new Set(
          admissions()
            .filter((n) => patientOf(n) === eid)
            .map((n) => n.notificationId),
        );
        // At least once: a resend after the crash carries the same idempotency key, never a new one.
        expect({ eid: eid.slice(0, 8), ids: ids.size }).toEqual({ eid: eid.slice(0, 8), ids: 1 });
      }
    }),
    400_000,
  );

  it(
    "a merge brings another record's visits to Riverside's roster member; after the unmerge they stop",
    wrap(async () => {
      const own = people.rccOwn;
      const other = people.staOther;
      await send('rcc', [adt('rcc', 'A04', own, `${own.tag}-a04`, NO_CONTACT)]);
      await send('sta', [adt('sta', 'A04', other, `${other.tag}-a04`, NO_CONTACT)]);
      const survivor = await eidOf(own, 'rcc');
      const merged = await eidOf(other, 'sta');
      expect(merged).not.toBe(survivor);
      const linksBefore = await region.recordsOn('hie.mpi.link');
      const versionOf = async (eid: string) =>
        (await region.call('ops-console', `${region.mpiUrl}/mpi/enterprise-ids/${eid}`)).json['version'];
      const merge = await region.call('ops-console', `${region.mpiUrl}/mpi/merges`, {
        method: 'POST',
        body: {
          survivingEnterpriseId: survivor,
          mergedEnterpriseId: merged,
          expectedVersions: { surviving: await versionOf(survivor), merged: await versionOf(merged) },
          reason: 'same person per both charts (test)',
        },
        headers: { 'content-type': 'application/json' },
      });
      expect(merge.status).toBe(201);
      await linkEventsPublished(linksBefore);
      await send('sta', [
        adt('sta', 'A01', other, `${other.tag}-a01`, NO_CONTACT, new Date(), inpatient(other.tag)),
      ]);
      await webhook.until(
        () => notificationsFor(subs['rccAdmission'] ?? '', survivor).length === 1,
        90_000,
        'the admission under the merged person',
      );

      const linksAfterMerge = await region.recordsOn('hie.mpi.link');
      const unmerge = await region.call(
        'ops-console',
        `${region.mpiUrl}/mpi/merges/${String(merge.json['id'])}/unmerge`,
        {
          method: 'POST',
          body: { expectedVersion: merge.json['version'], reason: 'not the same person after all (test)' },
          headers: { 'content-type': 'application/json' },
        },
      );
      expect(unmerge.status).toBe(200);
      await linkEventsPublished(linksAfterMerge);
      await send('sta', [
        adt('sta', 'A03', other, `${other.tag}-a03`, NO_CONTACT, new Date(), {
          ...inpatient(other.tag),
          dischargedAt: new Date(),
        }),
      ]);
      // The visit is followed by its encounter (the focus), not by an enterprise id: after the
      // unmerge the record's person is whatever the MPI decides, and it is not Riverside's.
      const visit = notificationsFor(subs['rccAdmission'] ?? '', survivor)[0]?.events[0]?.focus ?? '?';
      const about = (name: string) =>
        webhook.events(subs[name]).filter((n) => n.events.some((e) => e.focus === visit));
      await webhook.until(
        () => about('staDischarge').length === 1,
        90_000,
        "St Aurelia's own discharge of the visit",
      );
      expect(about('rccDischarge')).toHaveLength(0);
      expect(notificationsFor(subs['rccDischarge'] ?? '', survivor)).toHaveLength(0);
    }),
    300_000,
  );

  it(
    'a new document is announced unless it carries a label Riverside may not see',
    wrap(async () => {
      const p = people.labelled;
      await send('sta', [
        adt('sta', 'A04', p, `${p.tag}-a04`, NO_CONTACT),
        mdmT02('sta', p, `${p.tag}-psy`, `PSY-${p.tag}`, {
          ...NO_CONTACT,
          documentType: 'CN',
          observation: '34788-0^Psychiatry Consult note^LN',
          kind: 'text',
        }),
        mdmT02('sta', p, `${p.tag}-dis`, `DOC-${p.tag}`, {
          ...NO_CONTACT,
          documentType: 'DS',
          observation: '18842-5^Discharge summary^LN',
          kind: 'text',
        }),
      ]);
      const eid = await eidOf(p);
      await webhook.until(
        () => notificationsFor(subs['rccDocument'] ?? '', eid).length >= 1,
        90_000,
        'the discharge summary notification',
      );
      const got = notificationsFor(subs['rccDocument'] ?? '', eid);
      const documents = got.flatMap((n) =>
        (n.bundle.entry ?? [])
          .map((e) => e.resource)
          .filter((r) => r?.['resourceType'] === 'DocumentReference'),
      );
      expect(
        documents.map((d) => (d?.['masterIdentifier'] as { value?: string } | undefined)?.value),
      ).toEqual([`DOC-${p.tag}`]);
      const log = await deliveries('riverside-ehr', subs['rccDocument'] ?? '');
      expect(log.filter((d) => d.topic === 'new-document').length).toBe(got.length);
    }),
    180_000,
  );

  it(
    'an emergency visit never closed by the feed is closed in notifications by rule, and says so',
    wrap(async () => {
      const p = people.emergency;
      await send('sta', [
        adt('sta', 'A04', p, `${p.tag}-a04`, NO_CONTACT, new Date(), {
          patientClass: 'E',
          number: `E-${p.tag}`,
          location: 'ED',
        }),
      ]);
      const eid = await eidOf(p);
      await webhook.until(
        () => notificationsFor(subs['rccDeparture'] ?? '', eid).length === 1,
        90_000,
        'the departure closed by rule',
      );
      const [closed] = notificationsFor(subs['rccDeparture'] ?? '', eid);
      const encounter = closed?.bundle.entry?.find((e) => e.resource?.['resourceType'] === 'Encounter')
        ?.resource as { meta?: { tag?: { code?: string }[] } } | undefined;
      expect(encounter?.meta?.tag?.map((t) => t.code)).toContain(CLOSED_BY_RULE_TAG.code);
    }),
    180_000,
  );

  it(
    'the same admission goes as HL7 v2 ADT^A01 over MLLP to an engine that only speaks v2 (HAPI), retried after AR',
    wrap(async () => {
      const p = people.v2;
      hapi = await startHapiReceiver({ arFirst: 1 });
      const roster = await region.call('north-valley-ehr', '/fhir/Group', {
        method: 'POST',
        rawBody: `system,value\r\n${STA_SYSTEM},${p.staMrn}\r\n`,
        headers: { 'content-type': 'text/csv' },
      });
      const group =
        (roster.json['parameter'] as
          { name: string; valueReference?: { reference?: string } }[] | undefined) ?? [];
      const nvRoster = (group.find((x) => x.name === 'group')?.valueReference?.reference ?? '').replace(
        'Group/',
        '',
      );
      expect(roster.status).toBe(201);
      // The handshake of an MLLP subscription is a connection: HAPI's first answer (AR) does not count against it.
      await subscribe('north-valley-ehr', 'nvV2', {
        topic: 'admission',
        roster: nvRoster,
        endpoint: `mllp://127.0.0.1:${hapi.port}`,
        channel: 'hl7v2-mllp',
      });
      await send('sta', [
        adt('sta', 'A04', p, `${p.tag}-a04`, NO_CONTACT),
        adt('sta', 'A01', p, `${p.tag}-a01`, NO_CONTACT, new Date(), inpatient(p.tag)),
      ]);
      const messages = await hapi.waitForMessages(2, 120_000);
      const admits = messages.filter((m) => m.messageType?.startsWith('ADT^A01') === true);
      // First an AR (HAPI told to refuse one), then the same message again, accepted.
      expect(admits.map((m) => m.answer)).toEqual(['AR', 'AA']);
      expect(new Set(admits.map((m) => m.controlId)).size).toBe(1);
      expect(admits.every((m) => m.parseError === undefined && m.pv12 === 'I')).toBe(true);
      // PID-3 carries only what North Valley knows the patient by: the roster's St Aurelia MRN, then the enterprise id.
      expect(admits[1]?.pid3).toBe(p.staMrn);
      // HAPI answers before the exchange records the outcome: wait for the log to say so.
      const deadline = Date.now() + 60_000;
      let log = await deliveries('north-valley-ehr', subs['nvV2'] ?? '');
      while (log.some((d) => d.status === 'pending') && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 300));
        log = await deliveries('north-valley-ehr', subs['nvV2'] ?? '');
      }
      expect(log.filter((d) => d.topic === 'admission').map((d) => [d.status, d.attempts])).toEqual([
        ['delivered', 2],
      ]);
    }),
    240_000,
  );

  it(
    "a hostile institution can neither use nor see another's roster or subscription; bad input is named",
    wrap(async () => {
      const riverside = subs['rccAdmission'] ?? '';
      // St Aurelia subscribes with Riverside's roster: refused (the roster is not its own).
      const stolen = await region.call('sta-ehr', '/fhir/Subscription', {
        method: 'POST',
        body: subscriptionOf({ topic: 'admission', roster: rosterId, endpoint: `${webhookUrl}/thief` }),
      });
      expect([
        stolen.status,
        (stolen.json['issue'] as { expression?: string[] }[] | undefined)?.[0]?.expression,
      ]).toEqual([422, ['Subscription.criteria']]);
      for (const [method, path] of [
        ['GET', `/fhir/Subscription/${riverside}/$events`],
        ['GET', `/fhir/Subscription/${riverside}/$status`],
        ['GET', `/fhir/Subscription/${riverside}/$deliveries`],
        ['POST', `/fhir/Subscription/${riverside}/$rotate-secret`],
        ['POST', `/fhir/Subscription/${riverside}/$redrive`],
        ['GET', `/fhir/Group/${rosterId}`],
      ] as const)
        expect({
          path: path.replace(/[0-9a-f-]{36}/, '<id>'),
          status: (await region.call('sta-ehr', path, { method })).status,
        }).toEqual({
          path: path.replace(/[0-9a-f-]{36}/, '<id>'),
          status: 404,
        });
      const replaced = await region.call('sta-ehr', `/fhir/Group/${rosterId}`, {
        method: 'PUT',
        rawBody: `system,value\r\n${STA_SYSTEM},X1\r\n`,
        headers: { 'content-type': 'text/csv' },
      });
      expect(replaced.status).toBe(404);
      // St Aurelia's list of subscriptions holds only its own.
      const listed = await region.call('sta-ehr', '/fhir/Subscription');
      const ids = ((listed.json['entry'] as { resource?: { id?: string } }[] | undefined) ?? []).map(
        (e) => e.resource?.id,
      );
      expect(ids).not.toContain(riverside);
      expect(ids).toContain(subs['staDischarge']);
      // A plain-HTTP webhook off loopback is refused, naming the element.
      const insecure = await region.call('riverside-ehr', '/fhir/Subscription', {
        method: 'POST',
        body: subscriptionOf({
          topic: 'admission',
          roster: rosterId,
          endpoint: 'http://hooks.example.org/in',
        }),
      });
      expect([
        insecure.status,
        (insecure.json['issue'] as { expression?: string[] }[] | undefined)?.[0]?.expression,
      ]).toEqual([400, ['Subscription.channel.endpoint']]);
      // A CSV roster with a bad row is refused as a whole, naming the line.
      const csv = await region.call('riverside-ehr', '/fhir/Group', {
        method: 'POST',
        rawBody: `system,value\r\n${STA_SYSTEM},X1\r\n${STA_SYSTEM},\r\n`,
        headers: { 'content-type': 'text/csv' },
      });
      expect(csv.status).toBe(400);
      expect(JSON.stringify(csv.json)).toContain('line 3');
    }),
    120_000,
  );
});
